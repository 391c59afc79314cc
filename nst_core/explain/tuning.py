"""What a channel detects: its tuning to synthetic gratings, measured by showing them to the network.

A channel's *tuning* is how its mean activation changes with a stimulus property. Two sets of gratings
(sinusoidal stripes between black and a colour) are shown to the network, all channels of a layer at once:

- achromatic gratings over ``ORIENTATIONS`` x the layer's ``periods``, for orientation and spatial frequency;
- coloured gratings over ``HUES`` x ``ORIENTATIONS`` at the layer's middle period, for colour.

Every colour has the same RGB norm (the same contrast energy): a hue wins by its direction in colour space,
not by being more intense.
Means are taken over the interior of the map: zero padding makes the border fire on its own.

``layer_responses`` does the forward passes (the expensive part, once per layer and weights);
``channel_tuning`` reads one channel's tuning from them.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import torch
from torch import Tensor

from ..extractor import VGGExtractor
from ..layers import LAYER_CHANNELS, LAYER_DOWNSAMPLE, check_layer

ORIENTATIONS: Final[tuple[float, ...]] = tuple(np.arange(0.0, 180.0, 22.5).tolist())
"""Angles of the gratings' lines from horizontal, counter-clockwise: 0 horizontal lines, 90 vertical."""
HUE_NAMES: Final[dict[int, str]] = {
    0: "red",
    30: "orange",
    60: "yellow",
    90: "lime",
    120: "green",
    150: "teal",
    180: "cyan",
    210: "sky blue",
    240: "blue",
    270: "violet",
    300: "magenta",
    330: "pink",
}
HUES: Final[tuple[int, ...]] = tuple(HUE_NAMES)
WHITE: Final = "white"
"""The hue name of a channel that prefers the achromatic grating: it responds to light and dark, not colour."""
UNORIENTED: Final = "unoriented"
ORIENTATION_FLOOR: Final = 0.2
"""Below this orientation selectivity a channel is labelled ``UNORIENTED``: its response hardly depends on the angle."""
BATCH: Final = 32


def hue_rgb(hue: int | str) -> tuple[float, float, float]:
    """RGB in 0-1 of a hue in degrees (full saturation and value), or of ``WHITE``."""
    return (1.0, 1.0, 1.0) if hue == WHITE else colorsys.hsv_to_rgb(float(hue) / 360.0, 1.0, 1.0)


def grating(side: int, orientation_deg: float, period_px: float, rgb: tuple[float, float, float]) -> Tensor:
    """(1, 3, side, side) sinusoidal stripes from black to ``rgb`` (scaled to unit RGB norm), lines at
    ``orientation_deg`` from horizontal."""
    theta = math.radians(orientation_deg)
    y, x = torch.meshgrid(
        torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32), indexing="ij"
    )
    # The value varies along the lines' normal; image rows grow downwards, so "up" is -y.
    phase = (-x * math.sin(theta) - y * math.cos(theta)) * (2.0 * math.pi / period_px)
    profile = 0.5 + 0.5 * torch.sin(phase)
    colour = torch.tensor(rgb, dtype=torch.float32)
    return (colour / colour.norm()).view(3, 1, 1).mul(profile).unsqueeze(0)


def probe_side(layer: str) -> int:
    """Side of the probe images for ``layer``: big enough for a map with an interior, small enough to be quick."""
    return 96 if LAYER_DOWNSAMPLE[check_layer(layer)] >= 16 else 64


def probe_periods(layer: str) -> tuple[float, ...]:
    """Grating periods (input pixels) for ``layer``: deeper layers see coarser patterns."""
    base = 3.0 if LAYER_DOWNSAMPLE[check_layer(layer)] == 1 else 4.0
    return tuple(base * 2.0**i for i in range(4))


@dataclass(frozen=True)
class GratingResponses:
    """Mean interior activation of every channel of ``layer`` to each grating.

    ``achromatic``: (orientations, periods, n_C); ``colour``: (hues, orientations, n_C) at ``colour_period``.
    """

    layer: str
    orientations: tuple[float, ...]
    periods: tuple[float, ...]
    hues: tuple[int, ...]
    colour_period: float
    achromatic: np.ndarray
    colour: np.ndarray


def _interior_means(extractor: VGGExtractor, layer: str, images: list[Tensor]) -> np.ndarray:
    means = []
    with torch.inference_mode():
        for start in range(0, len(images), BATCH):
            batch = torch.cat(images[start : start + BATCH]).to(extractor.device)
            # A conv layer's output is signed and an edge filter's averages to 0 over a grating: what the
            # channel passes on is its positive part (the next ReLU's), which is what "fires" means.
            a = extractor(batch, [layer])[layer].to("cpu", torch.float64).clamp(min=0.0)
            h, w = a.shape[-2:]
            mh, mw = max(1, h // 8), max(1, w // 8)
            means.append(a[:, :, mh : h - mh, mw : w - mw].mean(dim=(-2, -1)).numpy())
    return np.concatenate(means)


def layer_responses(extractor: VGGExtractor, layer: str) -> GratingResponses:
    """Show every probe grating to ``extractor`` and keep each channel's mean response at ``layer``."""
    side, periods = probe_side(layer), probe_periods(layer)
    colour_period = periods[1]
    achromatic = [grating(side, o, p, hue_rgb(WHITE)) for o in ORIENTATIONS for p in periods]
    coloured = [grating(side, o, colour_period, hue_rgb(h)) for h in HUES for o in ORIENTATIONS]
    means = _interior_means(extractor, layer, achromatic + coloured)
    by_grating = means[: len(achromatic)].reshape(len(ORIENTATIONS), len(periods), -1)
    by_hue = means[len(achromatic) :].reshape(len(HUES), len(ORIENTATIONS), -1)
    return GratingResponses(layer, ORIENTATIONS, periods, HUES, colour_period, by_grating, by_hue)


class Selectivity(float):
    """A selectivity in 0-1 for orientation and for colour: reads as ``.orientation`` / ``.colour``, as
    ``["orientation"]`` / ``["colour"]``, or as one number (their mean) where one number is wanted."""

    orientation: float
    colour: float

    def __new__(cls, orientation: float, colour: float) -> Selectivity:
        value = super().__new__(cls, (orientation + colour) / 2.0)
        value.orientation, value.colour = orientation, colour
        return value

    @property
    def color(self) -> float:
        return self.colour

    def __getitem__(self, name: str) -> float:
        return {"orientation": self.orientation, "colour": self.colour, "color": self.colour}[name]

    def __repr__(self) -> str:
        return f"Selectivity(orientation={self.orientation:.3f}, colour={self.colour:.3f})"


@dataclass(frozen=True)
class ChannelTuning:
    """What channel ``k`` of ``layer`` responds to most, and how selectively.

    ``orientation_deg``: the preferred lines' angle from horizontal (0 horizontal lines, 90 vertical),
    ``orientation``: its label ("horizontal", "vertical", "diagonal", or ``UNORIENTED`` when the angle
    hardly matters); ``hue``: the preferred colour's name (``WHITE`` for light-dark patterns), ``rgb``
    its colour in 0-1; ``period_px``: the preferred stripe period in input pixels. Selectivities are the
    usual index (R_pref - R_opp) / (R_pref + R_opp) in 0-1, with R_opp the response to the orthogonal
    orientation or the complementary hue: 0 responds to both alike, 1 not at all to the opposite.
    ``orientation_curve`` (per ``ORIENTATIONS``, for stripes of ``orientation_stimulus`` at ``period_px``)
    and ``colour_curve`` (per ``HUES``, then white) are the mean responses behind them.
    """

    layer: str
    k: int
    orientation_deg: float
    orientation: str
    orientation_selectivity: float
    hue: str
    rgb: tuple[float, float, float]
    colour_selectivity: float
    period_px: float
    peak: float  # the strongest mean response to any grating
    orientation_curve: tuple[float, ...]
    colour_curve: tuple[float, ...]
    orientation_stimulus: str = WHITE  # the hue of the stripes behind ``orientation_curve`` (``WHITE``: light-dark)

    @property
    def selectivity(self) -> Selectivity:
        return Selectivity(self.orientation_selectivity, self.colour_selectivity)

    @property
    def silent(self) -> bool:
        """No grating makes the channel fire: its preferences mean nothing."""
        return self.peak <= 0.0

    def describe(self) -> str:
        """The words "vertical, orange texture" of the lecture's sentence about two channels that fire together."""
        if self.silent:
            return "none of the test gratings (it stays silent)"
        shape = self.orientation
        if shape == "diagonal":
            shape = "diagonal (/)" if self.orientation_deg < 90 else "diagonal (\\)"
        colour = "light–dark" if self.hue == WHITE else self.hue
        return f"{shape}, {colour} texture"


def orientation_label(orientation_deg: float, selectivity: float) -> str:
    """ "horizontal", "vertical", "diagonal", or ``UNORIENTED`` below ``ORIENTATION_FLOOR``."""
    if selectivity < ORIENTATION_FLOOR:
        return UNORIENTED
    angle = orientation_deg % 180.0
    if angle < 22.5 or angle >= 157.5:
        return "horizontal"
    return "vertical" if 67.5 <= angle < 112.5 else "diagonal"


def _circular(values: np.ndarray, angles_deg: np.ndarray) -> tuple[float, float]:
    """(mean angle in degrees in [0, 360), vector strength in 0-1) of non-negative ``values`` at ``angles_deg``."""
    weights = np.clip(values, 0.0, None)
    if (total := weights.sum()) <= 0:
        return 0.0, 0.0
    vector = (weights * np.exp(1j * np.radians(angles_deg))).sum()
    return float(np.degrees(np.angle(vector)) % 360.0), float(min(1.0, abs(vector) / total))


def _nearest(angles_deg: np.ndarray, angle: float, period: float) -> int:
    """Index of the sampled angle nearest ``angle`` on a circle of ``period`` degrees."""
    distance = np.abs((angles_deg - angle + period / 2.0) % period - period / 2.0)
    return int(np.argmin(distance))


def _index(curve: np.ndarray, preferred: int, opposite: int) -> float:
    """(R_pref - R_opposite) / (R_pref + R_opposite), the usual selectivity index, in 0-1 (0 for a silent channel)."""
    high, low = max(float(curve[preferred]), 0.0), max(float(curve[opposite]), 0.0)
    return 0.0 if high <= 0.0 else max(0.0, (high - low) / (high + low))


def channel_tuning(
    extractor: VGGExtractor, layer: str, k: int, responses: GratingResponses | None = None
) -> ChannelTuning:
    """The tuning of channel ``k`` of ``layer``: preferred orientation, colour and period, and how selective.

    ``responses`` (from ``layer_responses(extractor, layer)``) saves the forward passes when several
    channels of one layer are asked for; without it they are run here.
    """
    check_layer(layer)
    if not 0 <= k < LAYER_CHANNELS[layer]:
        raise ValueError(f"{layer} has channels 0 to {LAYER_CHANNELS[layer] - 1}, got k = {k}")
    if responses is None or responses.layer != layer:
        responses = layer_responses(extractor, layer)
    achromatic = responses.achromatic[:, :, k]  # (orientations, periods)
    colour = responses.colour[:, :, k]  # (hues, orientations)
    best_hue = int(np.argmax(colour.max(axis=1)))
    # The orientation curve is the one, among light-dark stripes of each period and coloured stripes of each
    # hue, that the angle changes most: a colour-blob channel answers coloured stripes of any angle alike,
    # and a colour-opponent edge channel may hardly answer light-dark ones.
    curves = [achromatic[:, p] for p in range(achromatic.shape[1])] + list(colour)
    chosen = int(np.argmax([curve.max() - curve.min() for curve in curves]))
    curve = curves[chosen]
    period = responses.periods[chosen] if chosen < achromatic.shape[1] else responses.colour_period
    angles = np.asarray(responses.orientations)
    doubled, _ = _circular(curve - curve.min(), 2.0 * angles)
    orientation_deg = doubled / 2.0
    orientation_selectivity = _index(
        curve, _nearest(angles, orientation_deg, 180.0), _nearest(angles, orientation_deg + 90.0, 180.0)
    )
    # Colour: each hue at its best orientation; white at the same period, for comparison.
    white_index = responses.periods.index(responses.colour_period)
    hue_curve = colour.max(axis=1)
    white = float(achromatic[:, white_index].max())
    hues = np.asarray(responses.hues, dtype=np.float64)
    colour_selectivity = _index(hue_curve, best_hue, _nearest(hues, hues[best_hue] + 180.0, 360.0))
    hue: int | str = WHITE if white >= hue_curve[best_hue] else responses.hues[best_hue]
    return ChannelTuning(
        layer=layer,
        k=k,
        orientation_deg=orientation_deg,
        orientation=orientation_label(orientation_deg, orientation_selectivity),
        orientation_selectivity=orientation_selectivity,
        hue=WHITE if hue == WHITE else HUE_NAMES[int(hue)],
        rgb=hue_rgb(hue),
        colour_selectivity=colour_selectivity,
        period_px=period,
        peak=float(max(achromatic.max(), colour.max())),
        orientation_curve=tuple(float(v) for v in curve),
        colour_curve=(*(float(v) for v in hue_curve), white),
        orientation_stimulus=WHITE
        if chosen < achromatic.shape[1]
        else HUE_NAMES[responses.hues[chosen - achromatic.shape[1]]],
    )


def _together(correlation: float) -> str:
    if correlation >= 0.5:
        return "where one fires the other does"
    if correlation >= 0.2:
        return "where one fires the other often does"
    if correlation > -0.2:
        return "they fire independently of each other"
    return "where one fires the other tends not to"


def tuning_sentence(tuning_k: ChannelTuning, tuning_k2: ChannelTuning, g: float, correlation: float) -> str:
    """The seed's sentence with live values: "channel 12 fires on vertical, orange texture; channel 40 on
    …; where one fires the other does (G = …, correlation …)"."""
    return (
        f"Channel {tuning_k.k} fires on {tuning_k.describe()}; channel {tuning_k2.k} on {tuning_k2.describe()}; "
        f"{_together(correlation)} (G[{tuning_k.k}, {tuning_k2.k}] = {g:.4g}, correlation {correlation:+.2f})."
    )
