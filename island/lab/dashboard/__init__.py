"""`island-dashboard`: a live web page of the archipelago, found through the nodes themselves."""
