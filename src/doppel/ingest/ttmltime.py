"""TTML time expressions: every form TTML 1 and 2 allow, and the lenient ones real files use.

    clock time    00:01:02   00:01:02.250   00:01:02:12 (frames)   00:01:02:12.1 (sub-frames)
    offset time   62.25s  1.5h  2m  1500ms  75f  12.5f  900t      (a fraction on any metric)
    wall clock    wallclock("2024-03-04T10:00:00Z"), wallclock("10:00:05.5"), wallclock("2024-03-04")
    lenient       19.764 (bare seconds, Apple), 01:19.764 (mm:ss), 00:00:01,500 (decimal comma)

Frames count at the effective frame rate (`ttp:frameRate` × `ttp:frameRateMultiplier`),
sub-frames at `ttp:subFrameRate`, ticks at `ttp:tickRate` (by default the effective frame
rate × the sub-frame rate when a frame rate is given, else 1 a second). With
`ttp:timeBase="smpte"` clock times count frames at the nominal rate, and `ttp:dropMode`
`dropNTSC` / `dropPAL` drop the frame numbers SMPTE drop-frame timecode skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

TTP = "{http://www.w3.org/ns/ttml#parameter}"
CLOCK = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})(?:[.,](\d+)|:(\d+)(?:\.(\d+))?)?$")
MINUTES = re.compile(r"^(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")  # lenient mm:ss(.fff)
OFFSET = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(h|ms|m|s|f|t)$")
BARE = re.compile(r"^\d+(?:\.\d*)?$|^\.\d+$")
WALLCLOCK = re.compile(r"""^wallclock\(\s*["']?\s*([^"')]+?)\s*["']?\s*\)$""")
SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class TimeBase:
    """The timing parameters of a TTML document (from the attributes of its <tt> root)."""

    frame_rate: float = 30.0  # effective: frameRate × frameRateMultiplier
    nominal_rate: int = 30
    sub_frame_rate: float = 1.0
    tick_rate: float = 1.0
    base: str = "media"  # media | smpte | clock
    drop: str = "nonDrop"

    @classmethod
    def of(cls, root) -> "TimeBase":
        def number(name: str, default: float) -> float:
            try:
                value = float(root.get(TTP + name) or default)
            except ValueError:
                raise ValueError(f"bad ttp:{name} '{root.get(TTP + name)}'") from None
            if value <= 0:
                raise ValueError(f"bad ttp:{name} '{root.get(TTP + name)}'")
            return value
        nominal = number("frameRate", 30)
        multiplier = (root.get(TTP + "frameRateMultiplier") or "1 1").split()
        try:
            factor = float(multiplier[0]) / float(multiplier[1] if len(multiplier) > 1 else 1)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"bad ttp:frameRateMultiplier '{root.get(TTP + 'frameRateMultiplier')}'") from None
        effective = nominal * factor
        sub = number("subFrameRate", 1)
        has_rate = root.get(TTP + "frameRate") is not None
        ticks = number("tickRate", effective * sub if has_rate else 1)
        return cls(effective, round(nominal), sub, ticks, root.get(TTP + "timeBase") or "media",
                   root.get(TTP + "dropMode") or "nonDrop")

    def frames(self, h: int, m: int, s: int, frames: int, sub: int) -> float:
        """Seconds of a clock time with frames (and sub-frames)."""
        sub_part = sub / self.sub_frame_rate if sub else 0.0
        if self.base != "smpte":
            return h * 3600 + m * 60 + s + (frames + sub_part) / self.frame_rate
        minutes = h * 60 + m
        dropped = 0
        if self.drop == "dropNTSC":  # two frame numbers a minute, except every tenth minute
            dropped = 2 * (minutes - minutes // 10)
        elif self.drop == "dropPAL":  # four every even minute, except every twentieth
            dropped = 4 * (minutes // 2 - minutes // 20)
        count = (h * 3600 + m * 60 + s) * self.nominal_rate + frames - dropped
        return (count + sub_part) / self.frame_rate


def _wallclock(value: str) -> float:
    """Seconds since 1970 (a date-time or date) or since midnight (a time of day)."""
    text = value.strip().replace("Z", "+00:00")
    if re.match(r"^\d{1,2}:\d{2}", text):
        parts = text.split("+")[0].split(":")
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + (float(parts[2]) if len(parts) > 2 else 0.0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad time expression 'wallclock({value})'") from None
    return moment.timestamp() if moment.tzinfo else (moment - datetime(1970, 1, 1)).total_seconds()


def parse_time(value: str | None, timing: TimeBase | None = None) -> float | None:
    """Seconds from a TTML time expression; None when there is none; ValueError when bad."""
    if value is None or not value.strip():
        return None
    timing = timing or TimeBase()
    text = value.strip()
    m = CLOCK.match(text)
    if m:
        h, mi, s, frac, frames, sub = m.groups()
        if frames is not None:
            return timing.frames(int(h), int(mi), int(s), int(frames), int(sub or 0))
        return int(h) * 3600 + int(mi) * 60 + int(s) + (float(f"0.{frac}") if frac else 0.0)
    m = OFFSET.match(text)
    if m:
        count, metric = float(m.group(1)), m.group(2)
        if metric == "f":
            return count / timing.frame_rate
        if metric == "t":
            return count / timing.tick_rate
        return count * SCALE[metric]
    if BARE.match(text):
        return float(text)
    m = MINUTES.match(text)
    if m:
        return int(m.group(1)) * 60 + float(m.group(2).replace(",", "."))
    m = WALLCLOCK.match(text)
    if m:
        return _wallclock(m.group(1))
    raise ValueError(f"bad time expression '{value}'")
