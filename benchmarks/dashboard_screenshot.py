"""Screenshot of a running island-dashboard, taken by the headless Chromium the tests use.

    python benchmarks/dashboard_screenshot.py http://127.0.0.1:8080/ docs/img/dashboard.png

Waits `--wait` seconds for the page to draw; the window is `--size` pixels (WIDTHxHEIGHT).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--wait", type=float, default=5.0)
    parser.add_argument("--size", default="1400x1500")
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}",
                 f"--window-size={args.size.replace('x', ',')}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options,
                               service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        browser.get(args.url)
        time.sleep(args.wait)
        browser.save_screenshot(args.out)
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
