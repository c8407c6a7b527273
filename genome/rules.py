"""Learning-rule families: named per-layer parameters and their transforms from CMA-ES space.

CMA-ES searches an unbounded, roughly isotropic space; each parameter has a
transform to the value the rule uses. Rates that span orders of magnitude
(`eta`, `decay`, `noise`) live on a log10 scale; a decay factor that must come
close to 1 (`trace`) is searched as log10(1 - lambda). Bounds are clipped in
search space, so a rule can never take a step larger than the weights themselves.

Families
--------
hebbian
    dW = eta (A post x pre + B pre + C post + D)(1 + M r_t) - decay W
    (Soltoggio et al. 2007; Najarro & Risi 2020, one rule per layer).
oja
    dW = eta A post (pre - post W)(1 + M r_t) - decay W   (Oja 1982).
threefactor
    A rule that can assign credit (node perturbation, Fiete & Seung 2006;
    Legenstein et al. 2010; Miconi 2017; Fremaux & Gerstner 2016; the evolved
    rules dw = eta f(R, R_bar) E of Jordan et al. 2021). Per layer l::

        post   = tanh(W pre + b + noise_l xi_t)         xi_t ~ N(0, 1) per neuron
        clean  = tanh(W pre + b)                        (the same input, no noise)
        e      = trace_l e + (post - clean + H_l post) x pre   eligibility trace, per
                                                        synapse, zeroed at each episode's start
        s_t    = r_t standardised over the lifetime    (the step reward; running mean
                                                        and variance, clipped to +-5)
        dW_t   = eta_l [step_l (s_t - s_bar_l) e + A post x pre + B pre + C post + D]
                 - decay_l W                            every step
        dW_end = eta_l return_l (R - R_bar_l) / R_dev_l e   at the end of each episode
        s_bar_l, R_bar_l, R_dev_l: running baselines with rate baseline_l

    The step reward carries no information where every step pays the same
    (CartPole: +1); the episode's return against a running baseline of returns
    does, applied to a trace that spans the episode (trace near 1). With H the
    trace also remembers which actions were taken in which states, so a return
    below the baseline can unlearn the state-action pairs that led to it (the
    credit a deterministic policy gets without noise). Both signals
    are offered, each with its own evolved gain. R_bar starts at the first
    episode's return (which so teaches nothing) and R_dev at max(1, |R_1| / 2),
    never below 1, so the signal is in units of the lifetime's own spread of
    returns whatever the environment's scale. `xi` is a counter-based hash of (episode seed, step,
    neuron): reproducible, and the same for every genome on the same seeds.
    Hand-set (eta > 0, noise > 0, trace near 1, return > 0, the rest 0) it is
    node-perturbation REINFORCE; evolution is free to find better.

    Parameters per layer (search space -> natural value; initial natural value):

        eta            10^z, z in [-6, 0]            0.3
        decay          10^z, z in [-8, -1]           1e-4
        noise          10^z, z in [-4, 0.5]          0.01
        trace          1 - 10^z, z in [-4, 0]        0.9
        trace_hebbian  z, in [-10, 10]               1.0   (H)
        baseline       10^z, z in [-3, 0]            0.3
        step           0.1 z, z in [-10, 10]         0.0
        return         z, in [-10, 10]               1.0
        hebbian, pre, post, bias (A, B, C, D)
                       0.01 z, z in [-10, 10]        0.0

    The initial rule already learns (a random linear CartPole policy: 48 -> 200
    in 20 episodes), so evolution starts from a learner. A genome that also
    evolves its weights starts with eta 0.01 instead.
learned
    A learning rule that is itself a tiny network, shared by every synapse of a
    layer (VSML, Kirsch & Schmidhuber 2021; SFNN, Pedersen et al. 2024; the
    rule search space of Jordan et al. 2021, dW = eta f(R, R_bar) E). The
    network sees what a synapse can know and says how it changes, once for each
    of four modulators; noise, traces and baselines are as in `threefactor`, and
    each synapse is also perturbed for a whole episode (weight perturbation:
    Jabri & Flower 1992; Seung 2003; PGPE, Sehnke et al. 2010), which explores
    the way random search does, one policy per episode::

        delta   = jitter_l anneal_l^k zeta    zeta ~ N(0, 1) per synapse, drawn at the start of
                                      episode k (0, 1, ...) of the lifetime
        post    = tanh((W + delta) pre + b + noise_l xi_t),  clean: the same without xi_t
        e_noise = trace_l e_noise + (post - clean) x pre       (zeroed at each episode's start)
        e_hebb  = fast_trace_l e_hebb + post x pre
        x       = (pre, post, post - clean, W / w_max, e_noise, e_hebb, delta)  per synapse
        h       = tanh(U_l x + c_l)                             3 hidden units
        y       = V_l h + S_l x + o_l                           one output per modulator
        m       = (0.01,                                        always
                   0.1 (s_t - s_bar_l),                         standardised step reward
                   (R - R_bar_l) / R_dev_l [episode end],       return against its baseline
                   1 [a terminal step, not a truncation])       the episode failed or succeeded
        dW      = eta_l (m . y) - decay_l W

    The modulators multiply the network's outputs, so a product such as
    REINFORCE's return x e_noise is one coefficient (S[return, e_noise] = 1),
    not something three tanh units must approximate. The terminal signal
    carries information even when every return is the same (the diagnosed
    failure of `threefactor` on CartPole: equal returns, zero signal); its
    sign is for evolution to find (CartPole terminates on failure, Acrobot on
    success). R_bar, R_dev and s_bar follow threefactor's equations with rate
    baseline_l.

    Parameters per layer (76 whatever the widths: 8 scalars, 68 weights):

        eta            10^z, z in [-6, 0]            0.3
        decay          10^z, z in [-8, -1]           1e-4
        noise          10^z, z in [-4, 0.5]          0.01
        trace          1 - 10^z, z in [-4, 0]        0.99   (of e_noise)
        fast_trace     1 - 10^z, z in [-4, 0]        0.9    (of e_hebb)
        baseline       10^z, z in [-3, 0]            0.5
        jitter         10^z, z in [-4, 0.5]          1.0    (of delta)
        anneal         1 - 10^z, z in [-4, 0]        0.95   (of delta, per episode)
        h{k}.{x}, h{k}.bias          U, c: z in [-10, 10]     0.0
        {m}.h{k}, {m}.{x}, {m}.bias   V, S, o: z in [-10, 10]  0.0, except
                                      return.delta 1.0
    with k = 0, 1, 2, x in (pre, post, noise, weight, e_noise, e_hebb, delta) and m in
    (always, step, return, terminal). The initial rule is weight perturbation:
    each episode tries the weights W + delta and moves W towards them by how much
    its return beat the baseline. Hand-set on training seeds it lifts random
    linear CartPole policies from 73 to about 260 within 20 episodes; hand-set
    REINFORCE with a failure term (return.e_noise 1, return.e_hebb 0.3,
    terminal.e_hebb -1, no jitter) reached about 105, and evolving that start
    for 88,000 episodes about 130.
threefactor-abcd
    `threefactor` with A, B, C, D searched in units of 1 (at most +-10, hebbian's
    scale) instead of 0.01; every other parameter, the equation and the kernels
    are threefactor's. For `weights+rules` genomes, whose rate starts at 0.01:
    at threefactor's unit their unsupervised terms stayed too small to matter.
perturbation
    `learned` with its rule network fixed at the hand-set weight perturbation
    (return.delta 1, every other weight 0): only six scalars evolve, so what
    evolution can find is how a known learner is tuned, not a new learner::

        delta = jitter_l anneal_l^k zeta,   W' = W (1 - decay_l)   every step
        dW_end = eta_l (R - R_bar_l) / R_dev_l delta   at the end of episode k

    with the neuron noise and baselines of `learned`. Parameters per layer: eta,
    decay, noise, baseline, jitter, anneal, as in `learned` (same transforms,
    bounds and initial values); trace and fast_trace stay at 0.99 and 0.9. A
    rich rule (76 parameters) fits the environments it was evolved on; six
    numbers can fit only how far to step and how fast to settle, which is what
    a rule trained on some environments might carry to others.
recurrent (state 4; recurrent2, recurrent3, recurrent5 ... recurrent8: `evaluation.rule_state`)
    Every synapse keeps a small recurrent state h (S = 4 numbers by default, 2 to 8),
    updated every step by a gated recurrent cell (a GRU without reset gate, the
    minimal gated unit of Zhou et al. 2016) whose parameters are shared by every
    synapse of a layer (SFNN, Pedersen et al. 2024: a GRU per synapse; VSML, Kirsch &
    Schmidhuber 2021: an LSTM per synapse). The weight's change is read out of the
    state, every step and at each episode's end. Noise, baselines and per-episode
    perturbations are `learned`'s; h lives for the whole lifetime (it is not reset
    between episodes), so a synapse can remember what earlier episodes taught it,
    such as which perturbations paid::

        delta   = jitter_l anneal_l^k zeta         as in `learned`
        post    = tanh((W + delta) pre + b + noise_l xi_t),  clean: the same without xi_t
        R       = (R - R_bar_l) / R_dev_l at an episode's end, else 0
        x       = (pre, post, (post - clean) pre, W / w_max, delta, R delta,
                   s_t - s_bar_l, R, 1 [a terminal step], 1 [the episode's last step])
        z       = sigmoid(Az_l x + Bz_l h + bz_l)                   update gate, (S,)
        c       = tanh(Ac_l x + Bc_l h + bc_l)                      candidate, (S,)
        h       = (1 - z) h + z c
        dW      = eta_l (v_l . h + [last step] u_l . h + q_l . x + o_l) - decay_l W

    The products (post - clean) pre (node perturbation's eligibility) and R delta
    (weight perturbation's credit) are features because a gated cell makes
    products only through its gates; `end` lets the gate open only at an
    episode's end, so the state can hold a lifetime's worth of episodes. The
    read-out v, o and q of the features that are not zero between episode ends
    act every step and are searched in units of 0.01; u and q of R delta, R,
    terminal and end act once per episode, in units of 1.

    Parameters per layer: 17 + 24 S + 2 S^2 whatever the widths (145 at S = 4; a
    genome keeps at most 1,000 rule parameters, so S = 4 allows 6 layers and S = 8
    two): eta, decay, noise, baseline, jitter, anneal as in `learned` (same
    transforms, bounds and initial values), then Az, Bz, bz, Ac, Bc, bc, v, u, q, o
    (z in [-10, 10]), all 0 except q.return_delta 1 and bz -2. The initial rule is
    `learned`'s weight perturbation with a silent state (c = 0, so h stays 0), so
    evolution starts from a learner and adds memory. Hand-set, a rule whose every
    change comes from its memory (the gate opens at episode ends, h a running mean
    of tanh(R delta), u 2, q 0) lifts random linear CartPole policies from 61 to
    235 (last 5 of 20, training seeds). Random initial weights already make hidden
    units differ, and every synapse's perturbation and neuron's noise is keyed by
    its own index, so a cell shared by a layer does not keep its hidden units alike.
recurrent-explore (and recurrent2-explore ... recurrent8-explore)
    `recurrent` whose cells also decide how far each synapse explores: at the start
    of episode k a synapse's perturbation is

        delta   = jitter_l anneal_l^k 2 sigmoid(p_l . h + p_bias_l) zeta

    with h its state as the episode starts. S + 1 more parameters per layer (150
    at S = 4), p in units of 3. Perturb-and-keep rules keep exploring after they
    have found a good policy, and their last episodes pay for it; a gate read
    from the synapse's memory can stop exploring once the lifetime has done well.
    The start is `recurrent`'s with one unit that remembers success: h1's update
    gate opens only at an episode's end (z.h1.bias -10, z.h1.end 10), where it
    takes tanh(3 end - 6 terminal) (+1 for an episode cut short without failing,
    -1 for one that ended in a terminal state), and p.h1 = -4 reads it (the other
    p and p_bias 0). With p and p_bias at 0 the rule is `recurrent`'s.
recurrent-explore-antithetic (and recurrent2-explore-antithetic ...)
    `recurrent-explore` whose episodes come in antithetic pairs (symmetric sampling: PGPE,
    Sehnke et al. 2010; mirrored sampling, Brockhoff et al. 2010): episode 2j draws zeta
    as before, episode 2j + 1 plays its mirror -zeta (scaled by its own gate and anneal)::

        zeta_{2j+1} = -zeta_{2j}
        delta_k     = jitter_l anneal_l^k 2 sigmoid(p_l . h + p_bias_l) zeta_k

    Same parameters, start and update as `recurrent-explore`. A pair's two returns differ
    by the perturbation's effect alone (the noise of where W sits cancels), so the
    return-weighted steps R_{2j} delta - R_{2j+1} delta of a perturb-and-keep rule carry
    (R+ - R-) delta, whose variance is about half that of one-sided sampling
    against a baseline (Sehnke et al. 2010, section 2.3).
neuron-state (state 4; neuron-state2 ... neuron-state8: `evaluation.rule_state`)
    Every neuron keeps a small recurrent state h (S numbers, 2 to 8) for its whole lifetime,
    updated every step by a gated cell (a GRU without reset gate) from its own activity and
    the reward and episode signals; the cell is shared by the neurons a layer feeds. Each
    synapse's change is read out of its two neurons' states (SFNN, Pedersen et al. 2024: a
    GRU per neuron and per synapse, parameters shared within a type). Noise, baselines
    and per-episode perturbations are `recurrent`'s; the perturbation of a synapse is gated
    by its neurons' states. For a synapse i -> o of layer l (h_in: the states of layer l's
    inputs, zero for the observations, which have no cell)::

        x_o     = (a_o, a_o - clean_o, s_t - s_bar_l, R, 1 [terminal step], 1 [last step])
        z       = sigmoid(Az_l x_o + Bz_l h_o + bz_l),  h_o <- (1 - z) h_o + z tanh(Ac_l x_o
                  + Bc_l h_o + bc_l)                                   every step, every neuron
        y       = (pre, post, (post - clean) pre, W / w_max, delta, R delta, 1)  per synapse
        dW      = eta_l sum_f (q_f + v_f . h_o + w_f . h_i) y_f - decay_l W
        delta   = jitter_l anneal_l^k 2 sigmoid(p_post . h_o + p_pre . h_i + p_bias) zeta

    with R = (R - R_bar_l) / R_dev_l at an episode's end, else 0 (as in `recurrent`), and
    the neurons' states taken after this step's update. A neuron's state can hold what a
    lifetime has shown it (how its episodes ended, whether its noise paid), and every
    synapse into or out of it reads that: how far to explore, how much a return counts,
    a Hebbian term switched on by the state. The read-out of R delta acts once per episode
    (units of 1); the others every step (units of 0.01).

    Parameters per layer: 14 + 30 S + 2 S^2 whatever the widths (166 at S = 4, 382 at
    S = 8): eta, decay, noise, baseline, jitter, anneal as in `recurrent`, the cell
    Az, Bz, bz, Ac, Bc, bc, the read-out q, v, w, the gate p_post, p_pre, p_bias. The start
    is `recurrent-explore`'s, moved to the neurons (where it was already the same for every
    synapse): weight perturbation (q.return_delta 1), and unit h1 of every neuron
    remembering how episodes ended (its gate opens at an episode's end, where it takes
    tanh(3 end - 6 terminal)), read by the perturbation gate (p.post.h1 = -4); a lifetime
    of this start equals `recurrent-explore`'s start's.
contingency
    Each synapse learns what its neuron's exploration noise did to its input over the next
    steps, and the weight becomes that effect times an evolved gain: a sensorimotor
    contingency (O'Regan & Noe 2001) learnt by node perturbation (Fiete & Seung 2006), with
    the change of the input in the place of the reward. Per synapse i -> o of layer l::

        post    = tanh(W pre + b + noise_l xi_t),  clean: the same without xi_t
        f_o     = post_o - clean_o, or for a discrete-action network's outputs
                  1 [o taken] - 1 [o the clean network's choice]  (what the noise changed)
        dW_oi   = eta_l gain_l e_o (pre_i(t) - pre_i(t - 1)) - decay_l W_oi   every step
        e_o     = trace_l e_o + f_o                    per neuron, zeroed at each episode's start

    With gain > 0 a unit comes to drive the inputs it moves in the direction it moves them
    (pumping: Acrobot's swing-up, whose best simple controllers push with the joint's
    velocity); with gain < 0 it comes to oppose them (balancing: CartPole). No reward enters:
    what the rule learns within a lifetime is its body's response to its actions, and what
    evolution chooses is which response to want. Five parameters per layer::

        eta    10^z, z in [-6, 0]            0.3
        decay  10^z, z in [-8, -1]           1e-6
        noise  10^z, z in [-4, 0.5]          1.5
        trace  1 - 10^z, z in [-4, 0]        0.1
        gain   z, in [-10, 10]               1.0

    The start pumps: hand-set on a random linear Acrobot-v1 network it learns to torque
    with the second joint's velocity against a fraction of the first's (the two weights
    it grows most: sign(dtheta2 - c dtheta1) is a -79 controller), and plays about -100
    from the third episode of a lifetime (50 lifetimes of a tuning block, 2^31 +
    135,000,000). With gain -1 on CartPole-v1 it learns to oppose the pole's velocity but
    barely its angle, whose change in one step is small beside the others: below 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

LINEAR, LOG10, COMPLEMENT_LOG10 = "linear", "log10", "complement_log10"


@dataclass(frozen=True)
class RuleParam:
    """One named parameter of a rule, for one layer."""

    name: str
    scale: str  # LINEAR, LOG10 or COMPLEMENT_LOG10: natural = z, 10^z or 1 - 10^z
    initial: float  # natural units
    low: float  # bounds in CMA-ES (search) space, applied before the transform
    high: float
    doc: str
    unit: float = 1.0  # LINEAR only: natural = unit * z, so CMA-ES steps of ~1 are sane

    def to_search(self, value: float) -> float:
        if self.scale == LOG10:
            return float(np.log10(value))
        if self.scale == COMPLEMENT_LOG10:
            return float(np.log10(1.0 - value))
        return float(value) / self.unit


@dataclass(frozen=True)
class RuleFamily:
    """A learning-rule family: the same parameters for every layer, independent of layer widths."""

    name: str
    params: tuple[RuleParam, ...]
    doc: str
    initial_with_weights: dict[str, float] = field(default_factory=dict)
    base: RuleFamily | None = None  # whose kernels run it: its other parameters stay initial

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def initial_search(self, with_weights: bool = False) -> np.ndarray:
        """Initial per-layer parameters in CMA-ES space, shape (n_params,).

        `with_weights`: the start of a genome that also evolves its weights, which
        may differ (`initial_with_weights`) from that of a pure rule.
        """
        start = {p.name: p.initial for p in self.params}
        if with_weights:
            start.update(self.initial_with_weights)
        return np.array([p.to_search(start[p.name]) for p in self.params])

    @property
    def kernel_family(self) -> RuleFamily:
        """The family whose compiled kernels run this one (itself, or its base)."""
        return self.base or self

    def kernel_rules(self, natural: np.ndarray) -> np.ndarray:
        """Natural values (..., n_params) laid out as the kernel family's parameters:
        those this family does not evolve take the base family's initial values."""
        if self.base is None:
            return natural
        columns = [natural[..., self.index(p.name)] if p.name in self.names
                   else np.full(natural.shape[:-1], p.initial) for p in self.base.params]
        return np.stack(columns, axis=-1)

    def to_natural(self, z: np.ndarray) -> np.ndarray:
        """Map search-space parameters (..., n_params) to the values the rule uses."""
        low = np.array([p.low for p in self.params])
        high = np.array([p.high for p in self.params])
        z = np.clip(z, low, high)
        scales = np.array([p.scale for p in self.params])
        units = np.array([p.unit for p in self.params])
        powers = np.power(10.0, np.where(scales == LINEAR, 0.0, z))
        return np.where(scales == LOG10, powers,
                        np.where(scales == COMPLEMENT_LOG10, 1.0 - powers, z * units))


_ETA = RuleParam("eta", LOG10, 1e-2, -6.0, 0.0, "learning rate, log10 scale, at most 1")
_DECAY = RuleParam("decay", LOG10, 1e-4, -8.0, -1.0, "weight decay towards zero, log10 scale")
# The reward-learning families (threefactor, learned) start as learners (eta 0.3) and
# explore with the same neuron noise.
_LEARNER_ETA = replace(_ETA, initial=0.3)
_NOISE = RuleParam("noise", LOG10, 0.01, -4.0, 0.5,
                   "scale of the exploration noise on each pre-activation, log10 scale")
_MOD = RuleParam("modulation", LINEAR, 0.0, -10.0, 10.0, "gain of the reward signal r_t")


def _coefficient(name: str, doc: str, unit: float = 1.0) -> RuleParam:
    return RuleParam(name, LINEAR, 0.0, -10.0, 10.0, doc, unit)


HEBBIAN = RuleFamily(
    name="hebbian",
    params=(
        _ETA,
        _DECAY,
        _coefficient("hebbian", "A: correlation term post x pre"),
        _coefficient("pre", "B: presynaptic term"),
        _coefficient("post", "C: postsynaptic term"),
        _coefficient("bias", "D: constant drift"),
        _MOD,
    ),
    doc=(
        "Reward-modulated ABCD Hebbian rule (Soltoggio et al. 2007; Najarro & Risi 2020, "
        "per layer): dW = eta (A post x pre + B pre + C post + D)(1 + M r_t) - decay W"
    ),
)

OJA = RuleFamily(
    name="oja",
    params=(
        _ETA,
        _DECAY,
        _coefficient("hebbian", "A: gain of Oja's normalised correlation term"),
        _MOD,
    ),
    doc=(
        "Reward-modulated Oja rule (Oja 1982): dW = eta A post (pre - post W)(1 + M r_t) "
        "- decay W; the -post^2 W term keeps each neuron's weight norm near 1"
    ),
)

# Initial values: a rule that already learns (hand-set, a random linear CartPole policy goes
# from 48 to 200 within 20 episodes), so evolution refines a learner instead of starting
# where switching learning off is the nearest improvement.
THREEFACTOR = RuleFamily(
    name="threefactor",
    params=(
        _LEARNER_ETA,
        _DECAY,
        _NOISE,
        RuleParam("trace", COMPLEMENT_LOG10, 0.9, -4.0, 0.0,
                  "decay per step of the eligibility trace, searched as log10(1 - trace)"),
        RuleParam("trace_hebbian", LINEAR, 1.0, -10.0, 10.0,
                  "H: gain of the Hebbian post x pre term in the trace"),
        RuleParam("baseline", LOG10, 0.3, -3.0, 0.0,
                  "rate of the running baselines of step reward and episode return, log10"),
        RuleParam("step", LINEAR, 0.0, -10.0, 10.0, "gain of the step reward s_t - s_bar",
                  0.1),
        RuleParam("return", LINEAR, 1.0, -10.0, 10.0,
                  "gain of the episode's return against its baseline, at the episode's end"),
        # Unsupervised terms act every step at the rate eta of the reward-driven one: in
        # units of 0.01 (at most +-0.1), so a first CMA-ES step does not saturate the weights.
        _coefficient("hebbian", "A: correlation term post x pre, in units of 0.01", 0.01),
        _coefficient("pre", "B: presynaptic term, in units of 0.01", 0.01),
        _coefficient("post", "C: postsynaptic term, in units of 0.01", 0.01),
        _coefficient("bias", "D: constant drift, in units of 0.01", 0.01),
    ),
    # Evolved weights start from zero and must first learn to act; a rule that rewrites
    # them at once from the first generation (eta 0.3) cost a weights+rules LunarLander
    # island half its budget. Such genomes start from a gentle learner, as hebbian does.
    initial_with_weights={"eta": 0.01},
    doc=(
        "Three-factor rule with exploration noise, eligibility traces and reward baselines "
        "(node perturbation; Fiete & Seung 2006, Miconi 2017, Jordan et al. 2021): "
        "dW = eta [(step (s - s_bar) + return (R - R_bar) / R_dev [at episode end]) e "
        "+ A post x pre + B pre + C post + D] - decay W, "
        "e = trace e + (post - clean + H post) x pre"
    ),
)

LEARNED_FEATURES = ("pre", "post", "noise", "weight", "e_noise", "e_hebb", "delta")
LEARNED_MODULATORS = ("always", "step", "return", "terminal")
LEARNED_HIDDEN = 3
LEARNED_SCALARS = 8  # eta ... anneal, before the rule network's weights


def _learned_params() -> tuple[RuleParam, ...]:
    """The scalars, then U (hidden x features), c, V (modulators x hidden), S, o."""
    initial = {"return.delta": 1.0}
    scalars = (
        _LEARNER_ETA,
        _DECAY,
        _NOISE,
        RuleParam("trace", COMPLEMENT_LOG10, 0.99, -4.0, 0.0,
                  "decay per step of the noise trace e_noise, searched as log10(1 - trace)"),
        RuleParam("fast_trace", COMPLEMENT_LOG10, 0.9, -4.0, 0.0,
                  "decay per step of the Hebbian trace e_hebb, searched as log10(1 - trace)"),
        RuleParam("baseline", LOG10, 0.5, -3.0, 0.0,
                  "rate of the running baselines of step reward and episode return, log10"),
        RuleParam("jitter", LOG10, 1.0, -4.0, 0.5,
                  "scale of each synapse's perturbation for one episode, log10 scale"),
        RuleParam("anneal", COMPLEMENT_LOG10, 0.95, -4.0, 0.0,
                  "factor of the perturbation's scale per episode of the lifetime, "
                  "searched as log10(1 - anneal)"),
    )
    hidden = [f"h{k}" for k in range(LEARNED_HIDDEN)]
    names = ([f"{h}.{x}" for h in hidden for x in LEARNED_FEATURES]
             + [f"{h}.bias" for h in hidden]
             + [f"{m}.{h}" for m in LEARNED_MODULATORS for h in hidden]
             + [f"{m}.{x}" for m in LEARNED_MODULATORS for x in LEARNED_FEATURES]
             + [f"{m}.bias" for m in LEARNED_MODULATORS])
    weights = tuple(RuleParam(n, LINEAR, initial.get(n, 0.0), -10.0, 10.0,
                              f"weight {n} of the rule network") for n in names)
    return scalars + weights


LEARNED = RuleFamily(
    name="learned",
    params=_learned_params(),
    initial_with_weights={"eta": 0.01},  # as threefactor: evolved weights first learn to act
    doc=(
        "A rule network shared by every synapse of a layer (VSML; SFNN; Jordan et al. 2021): "
        "dW = eta sum_m m y_m(pre, post, noise, W, e_noise, e_hebb) - decay W, "
        "modulators always, step reward, return against baseline, terminal step"
    ),
)


RECURRENT_STATE = 4  # numbers of recurrent state per synapse, by default
RECURRENT_STATES = range(2, 9)  # the state sizes a recurrent family may have
RECURRENT_FEATURES = ("pre", "post", "noise_pre", "weight", "delta", "return_delta", "step",
                      "return", "terminal", "end")
RECURRENT_AT_END = ("return_delta", "return", "terminal", "end")  # zero but at an episode's end
RECURRENT_SCALARS = ("eta", "decay", "noise", "baseline", "jitter", "anneal")
MAX_RULE_PARAMS = 1_000  # a genome's rule parameters, whatever its widths


EXPLORE = "-explore"  # the suffix of a recurrent family whose cells scale its perturbations


def recurrent_name(state: int, explore: bool = False) -> str:
    """The family name of a recurrent rule with `state` numbers per synapse (`explore`: its
    cells also scale each synapse's perturbation)."""
    base = "recurrent" if state == RECURRENT_STATE else f"recurrent{state}"
    return base + EXPLORE if explore else base


def _cell_names(units: list[str], features: tuple[str, ...]) -> list[str]:
    """A gated cell's parameter names, its update gate z then its candidate c: each state
    unit's weight on every input feature, on every unit, and its bias."""
    names: list[str] = []
    for gate in ("z", "c"):
        names += [f"{gate}.{h}.{x}" for h in units for x in features]
        names += [f"{gate}.{h}.{g}" for h in units for g in units]
        names += [f"{gate}.{h}.bias" for h in units]
    return names


def _recurrent_params(state: int, explore: bool = False) -> tuple[RuleParam, ...]:
    """learned's scalars, then Az, Bz, bz, Ac, Bc, bc (cell), v, u, q, o (read-out), and with
    `explore` the gate of the perturbations, p and p_bias."""
    scalars = tuple(p for p in _learned_params()[:LEARNED_SCALARS]
                    if p.name in RECURRENT_SCALARS)
    assert tuple(p.name for p in scalars) == RECURRENT_SCALARS
    units = [f"h{k}" for k in range(state)]
    names = _cell_names(units, RECURRENT_FEATURES)
    names += [f"v.{h}" for h in units] + [f"u.{h}" for h in units]
    names += [f"q.{x}" for x in RECURRENT_FEATURES] + ["o"]
    initial = {"q.return_delta": 1.0} | {f"z.{h}.bias": -2.0 for h in units}
    # The read-out acts every step, at rate eta for hundreds of steps: its terms that are
    # not zero between episode ends are searched in small units, so a first CMA-ES step
    # does not drive every weight to its bound (seen: a population mean of 60 on CartPole
    # where the initial rule scored 200, at unit 1 and sigma 0.1).
    units_of = {f"v.{h}": 0.01 for h in units} | {"o": 0.01} | {
        f"q.{x}": 0.01 for x in RECURRENT_FEATURES if x not in RECURRENT_AT_END}
    weights = tuple(RuleParam(n, LINEAR, initial.get(n, 0.0), -10.0, 10.0,
                              f"weight {n} of the synapse's recurrent cell",
                              units_of.get(n, 1.0)) for n in names)
    if not explore:
        return scalars + weights
    # The start remembers success: unit h1's gate opens only at an episode's end, where it
    # takes +1 if the episode was cut short without failing (CartPole's 500 steps) and -1
    # if it ended in a terminal state, and the perturbation gate reads it (p.h1 -4: a
    # tenth of the exploration after a success, up to twice it after failures). Hand-set
    # on training seeds it lifts random linear CartPole policies to 289 where `recurrent`'s
    # start reaches 230 (last 5 of 20, 64 lifetimes). A state of +-1 needs a gate near -5
    # to stop exploring, hence p in units of 3.
    success = {"z.h1.bias": -10.0, "z.h1.end": 10.0, "c.h1.end": 3.0, "c.h1.terminal": -6.0}
    weights = tuple(replace(p, initial=success.get(p.name, p.initial)) for p in weights)
    gate = tuple(RuleParam(f"p.{h}", LINEAR, -4.0 if h == "h1" else 0.0, -10.0, 10.0,
                           f"weight of cell state {h} in the synapse's perturbation gate", 3.0)
                 for h in units)
    return scalars + weights + gate + (
        RuleParam("p.bias", LINEAR, 0.0, -10.0, 10.0, "bias of the perturbation gate"),)


def recurrent_family(state: int, explore: bool = False) -> RuleFamily:
    """The recurrent family with `state` numbers per synapse (see the module docstring)."""
    gated = (", and each episode's perturbation of a synapse scaled by "
             "2 sigmoid(p . h + p_bias) from its state" if explore else "")
    return RuleFamily(
        name=recurrent_name(state, explore),
        params=_recurrent_params(state, explore),
        initial_with_weights={"eta": 0.01},
        doc=(
            f"A gated recurrent cell of {state} numbers in every synapse, shared by a layer's "
            "synapses (SFNN; VSML): h = (1 - z) h + z tanh(Ac x + Bc h + bc), "
            "z = sigmoid(Az x + Bz h + bz), dW = eta (v . h + [end] u . h + q . x + o) "
            "- decay W, x = (pre, post, noise pre, W, delta, R delta, step, R, terminal, end)"
            + gated
        ),
    )


RECURRENT_FAMILIES = {state: recurrent_family(state) for state in RECURRENT_STATES}
RECURRENT = RECURRENT_FAMILIES[RECURRENT_STATE]
# The same cells, whose state also scales each synapse's perturbation (stop exploring once
# a lifetime has found a good policy: the idea left by the first recurrent runs).
EXPLORE_FAMILIES = {state: recurrent_family(state, explore=True) for state in RECURRENT_STATES}


ANTITHETIC = "-antithetic"  # the suffix of an explore family whose episodes come in mirrored pairs


def antithetic_family(state: int) -> RuleFamily:
    """`recurrent-explore` of `state` numbers per synapse, its perturbations in mirrored pairs."""
    gated = recurrent_family(state, explore=True)
    return replace(gated, name=gated.name + ANTITHETIC,
                   doc=gated.doc + "; episode 2j + 1 plays the mirror -zeta of episode 2j's draw")


ANTITHETIC_FAMILIES = {state: antithetic_family(state) for state in RECURRENT_STATES}


def recurrent_state(family: RuleFamily) -> int:
    """Numbers of state per synapse of a recurrent family (gated, paired or not)."""
    (state,) = [s for families in (RECURRENT_FAMILIES, EXPLORE_FAMILIES, ANTITHETIC_FAMILIES)
                for s, f in families.items() if f.name == family.name]
    return state


def explores(family: RuleFamily) -> bool:
    """Whether a recurrent family's cells scale its perturbations."""
    return family.name.endswith((EXPLORE, EXPLORE + ANTITHETIC))


def antithetic(family: RuleFamily) -> bool:
    """Whether a recurrent family plays its perturbations in mirrored pairs of episodes."""
    return family.name.endswith(ANTITHETIC)


NEURON_STATE = "neuron-state"  # the family whose state lives in neurons, not synapses
NEURON_FEATURES = ("act", "noise", "step", "return", "terminal", "end")  # what a neuron's cell sees
NEURON_AT_LAYER = ("step", "return", "terminal", "end")  # one per layer and row: in the biases
SYNAPSE_FEATURES = ("pre", "post", "noise_pre", "weight", "delta", "return_delta", "bias")


def neuron_state_name(state: int) -> str:
    """The family name of a neuron-state rule with `state` numbers per neuron."""
    return NEURON_STATE if state == RECURRENT_STATE else f"{NEURON_STATE}{state}"


def _neuron_state_params(state: int) -> tuple[RuleParam, ...]:
    """recurrent's scalars, then the neurons' cell Az, Bz, bz, Ac, Bc, bc, the synapses'
    read-out q, v (post state), w (pre state), and the perturbation gate p_post, p_pre,
    p_bias (see the module docstring)."""
    scalars = _recurrent_params(state)[: len(RECURRENT_SCALARS)]
    units = [f"h{k}" for k in range(state)]
    names = _cell_names(units, NEURON_FEATURES)
    names += [f"q.{f}" for f in SYNAPSE_FEATURES]
    names += [f"v.{f}.{h}" for f in SYNAPSE_FEATURES for h in units]
    names += [f"w.{f}.{h}" for f in SYNAPSE_FEATURES for h in units]
    # recurrent-explore's start, its success unit h1 now a neuron's (see the module docstring)
    initial = ({f"z.{h}.bias": -2.0 for h in units} | {"q.return_delta": 1.0}
               | {"z.h1.bias": -10.0, "z.h1.end": 10.0, "c.h1.end": 3.0,
                  "c.h1.terminal": -6.0})
    # Terms that act every step, at rate eta for hundreds of steps, in small units (as in
    # recurrent's read-out); R delta acts once per episode.
    per_step = {f for f in SYNAPSE_FEATURES if f != "return_delta"}
    unit = {n: 0.01 for n in names if n.split(".")[0] in "qvw" and n.split(".")[1] in per_step}
    weights = tuple(RuleParam(n, LINEAR, initial.get(n, 0.0), -10.0, 10.0,
                              f"weight {n} of the neurons' cell or the synapses' read-out",
                              unit.get(n, 1.0)) for n in names)
    gate = tuple(RuleParam(f"p.{side}.{h}", LINEAR,
                           -4.0 if (side, h) == ("post", "h1") else 0.0, -10.0, 10.0,
                           f"weight of the {side}synaptic neuron's state {h} in the "
                           "perturbation gate", 3.0)
                 for side in ("post", "pre") for h in units)
    return scalars + weights + gate + (
        RuleParam("p.bias", LINEAR, 0.0, -10.0, 10.0, "bias of the perturbation gate"),)


def neuron_state_family(state: int) -> RuleFamily:
    """The neuron-state family with `state` numbers per neuron (see the module docstring)."""
    return RuleFamily(
        name=neuron_state_name(state),
        params=_neuron_state_params(state),
        initial_with_weights={"eta": 0.01},
        doc=(f"A gated recurrent cell of {state} numbers in every neuron, shared by the neurons "
             "a layer feeds (SFNN): h = (1 - z) h + z tanh(Ac x + Bc h + bc), x = (act, noise, "
             "step, R, terminal, end); dW = eta sum_f (q_f + v_f . h_post + w_f . h_pre) y_f "
             "- decay W, y = (pre, post, noise pre, W, delta, R delta, 1); each episode's "
             "perturbation scaled by 2 sigmoid(p_post . h_post + p_pre . h_pre + p_bias)"),
    )


NEURON_STATE_FAMILIES = {state: neuron_state_family(state) for state in RECURRENT_STATES}


def neuron_state_size(family: RuleFamily) -> int | None:
    """Numbers of state per neuron of a neuron-state family; None for any other family."""
    sizes = [s for s, f in NEURON_STATE_FAMILIES.items() if f.name == family.name]
    return sizes[0] if sizes else None


CONTINGENCY = RuleFamily(
    name="contingency",
    params=(
        _LEARNER_ETA,
        replace(_DECAY, initial=1e-6),
        replace(_NOISE, initial=1.5),
        RuleParam("trace", COMPLEMENT_LOG10, 0.1, -4.0, 0.0,
                  "decay per step of each neuron's trace of its noise's effect, "
                  "searched as log10(1 - trace)"),
        RuleParam("gain", LINEAR, 1.0, -10.0, 10.0,
                  "sign and size of the wanted effect: > 0 drive what a unit moves, < 0 "
                  "oppose it"),
    ),
    doc=("Sensorimotor contingency: dW_oi = eta gain e_o (pre_i(t) - pre_i(t-1)) - decay W, "
         "e_o = trace e_o + (what unit o's noise changed: its activity, or the action)"),
)


def restricted(base: RuleFamily, name: str, evolved: tuple[str, ...], doc: str) -> RuleFamily:
    """`base` with only the parameters `evolved` searched; the rest stay at their initial values."""
    return RuleFamily(
        name=name, params=tuple(p for p in base.params if p.name in evolved), doc=doc,
        initial_with_weights={k: v for k, v in base.initial_with_weights.items()
                              if k in evolved},
        base=base)


PERTURBATION = restricted(
    LEARNED, "perturbation", ("eta", "decay", "noise", "baseline", "jitter", "anneal"),
    doc=("Weight perturbation with evolved scalars (Jabri & Flower 1992; PGPE, Sehnke et al. "
         "2010): the learned family's hand-set rule network, delta = jitter anneal^k zeta, "
         "dW = eta (R - R_bar) / R_dev delta at each episode's end - decay W"),
)

UNSUPERVISED = ("hebbian", "pre", "post", "bias")

# threefactor keeps A-D in units of 0.01 so a pure rule's first steps (eta 0.3) do not
# saturate random weights; with evolved weights (eta 0.01) that unit left them unused
# (experiments/results/weights-rules-families.md), so this variant searches them at hebbian's.
THREEFACTOR_ABCD = RuleFamily(
    name="threefactor-abcd",
    params=tuple(replace(p, unit=1.0) if p.name in UNSUPERVISED else p
                 for p in THREEFACTOR.params),
    initial_with_weights=dict(THREEFACTOR.initial_with_weights),
    doc=("threefactor with its unsupervised terms A-D searched at hebbian's scale (unit 1, "
         "at most +-10) instead of 0.01: the same equation and kernels"),
    base=THREEFACTOR,
)

FAMILIES: dict[str, RuleFamily] = {
    f.name: f for f in (HEBBIAN, OJA, THREEFACTOR, THREEFACTOR_ABCD, LEARNED, PERTURBATION,
                       *RECURRENT_FAMILIES.values(), *EXPLORE_FAMILIES.values(),
                       *ANTITHETIC_FAMILIES.values(), *NEURON_STATE_FAMILIES.values(), CONTINGENCY)
}


# The names `evaluation.rule_state` sizes; every other family keeps no state to size.
SIZED_BY_STATE = ("recurrent", "recurrent" + EXPLORE, "recurrent" + EXPLORE + ANTITHETIC,
                  NEURON_STATE)


def sized_family_name(family: str, state: int) -> str:
    """The family `--rule-family family --rule-state state` names: one of SIZED_BY_STATE
    at `state` numbers of state, any other family as it is."""
    if family == NEURON_STATE:
        return neuron_state_name(state)
    if family in SIZED_BY_STATE:
        return recurrent_name(state, EXPLORE in family) + (
            ANTITHETIC if family.endswith(ANTITHETIC) else "")
    return family


def get_family(name: str) -> RuleFamily:
    """Look up a family by name, naming the known ones when it is missing."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(
            f"unknown rule family {name!r}; known families: {', '.join(sorted(FAMILIES))}"
        ) from None
