"""A plausible, deterministic vehicle route to feed the footage generators.

The route is integrated once, lazily, at a fixed step (0.1 s) from a seeded
random "driver": cruise phases at 4-30 m/s with stops in between, speed
changes limited to a car's acceleration, heading changes limited by the
lateral acceleration a real vehicle can take, and an elevation profile that
depends on the distance travelled (so a stopped vehicle keeps its altitude).
Any instant can then be sampled with :meth:`Route.at` by linear interpolation,
so a 10 Hz GPS9 stream, an 18 Hz GPS5 stream and a 1 Hz dashcam stream of
the same drive agree with each other.

The default start is the lakeside road at Ouchy, Lausanne (Lake Geneva,
about 375 m above sea level, the lake being at 372 m), heading east.

Everything is pure Python and seeded: the same seed gives the same route on
every machine (``random.Random`` is specified to be reproducible).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# Integration step of the route, seconds. Small enough that linear
# interpolation between steps is exact to well under a GPS quantum.
STEP = 0.1

EARTH_RADIUS = 6_371_008.8  # mean Earth radius, metres (IUGG)

# Ouchy, Lausanne: Quai d'Ouchy, on the shore of Lake Geneva.
DEFAULT_START = (46.506_900, 6.626_600)
DEFAULT_ELEVATION = 375.0
DEFAULT_COURSE = 95.0  # roughly east, along the shore towards Lutry

# Vehicle limits: a car accelerates at about 1.5 m/s² and brakes at 2.5 m/s²
# in normal driving; 3 m/s² lateral is a comfortable limit in a bend.
ACCEL = 1.5
DECEL = 2.5
LATERAL = 3.0
TURN_RATE_CHANGE = 4.0  # deg/s², how quickly the steering moves


@dataclass(frozen=True, slots=True)
class RoutePoint:
    """The true state of the vehicle at ``t`` seconds after the route start."""

    t: float
    lat: float
    lon: float
    ele: float
    speed_2d: float  # ground speed, m/s
    speed_3d: float  # including the vertical component, m/s
    course: float  # degrees clockwise from true north, [0, 360)
    distance: float  # metres travelled since t = 0


class Route:
    """A seeded drive, integrated on demand and sampled at any instant."""

    def __init__(
        self,
        *,
        seed: int = 0,
        start: tuple[float, float] = DEFAULT_START,
        elevation: float = DEFAULT_ELEVATION,
        course: float = DEFAULT_COURSE,
        max_speed: float = 30.0,
    ) -> None:
        self.seed = seed
        self.start = start
        self.elevation = elevation
        self.max_speed = max_speed
        self._rng = random.Random(f"route-{seed}")
        # Elevation profile: three sine waves of distance (hills of ~1.4 km,
        # ~450 m and ~120 m wavelength), phases drawn from the seed.
        self._hills = [
            (amp, wavelength / (2 * math.pi), self._rng.uniform(0, 2 * math.pi))
            for amp, wavelength in ((25.0, 4400.0), (12.0, 1450.0), (3.0, 380.0))
        ]
        self._hill_offset = sum(a * math.sin(p) for a, _, p in self._hills)
        # Integrated state, one entry per STEP.
        self._lat = [start[0]]
        self._lon = [start[1]]
        self._dist = [0.0]
        self._speed = [0.0]
        self._course = [course % 360.0]
        # Driver state.
        self._v = 0.0
        self._heading = course % 360.0
        self._turn = 0.0
        self._turn_target = 0.0
        self._turn_until = 0.0
        self._target_speed = 0.0
        self._phase_until = self._rng.uniform(2.0, 6.0)  # stands still at first

    # -- integration ---------------------------------------------------------

    def _next_phase(self, now: float) -> None:
        """Pick the next speed phase: a stop (one in five) or a cruise."""
        rng = self._rng
        if self._target_speed > 0 and rng.random() < 0.2:
            self._target_speed = 0.0
            self._phase_until = now + rng.uniform(5.0, 40.0)
        else:
            self._target_speed = min(self.max_speed, rng.uniform(4.0, 30.0))
            self._phase_until = now + rng.uniform(15.0, 90.0)

    def _next_turn(self, now: float) -> None:
        """Pick the next steering target: straight half of the time."""
        rng = self._rng
        if rng.random() < 0.5:
            self._turn_target = 0.0
        else:
            self._turn_target = rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 12.0)
        self._turn_until = now + rng.uniform(3.0, 12.0)

    def _step(self) -> None:
        now = (len(self._lat) - 1) * STEP
        if now >= self._phase_until:
            self._next_phase(now)
        if now >= self._turn_until:
            self._next_turn(now)
        # Speed: approach the target within the vehicle's limits.
        dv = self._target_speed - self._v
        dv = max(-DECEL * STEP, min(ACCEL * STEP, dv))
        v = max(0.0, self._v + dv)
        # Steering: approach the target rate, capped by lateral acceleration.
        dr = max(
            -TURN_RATE_CHANGE * STEP, min(TURN_RATE_CHANGE * STEP, self._turn_target - self._turn)
        )
        self._turn += dr
        if v > 0.5:
            max_rate = math.degrees(LATERAL / v)
            self._turn = max(-max_rate, min(max_rate, self._turn))
            self._heading = (self._heading + self._turn * STEP) % 360.0
        # Position: move along the mean heading of the step.
        mean_v = (self._v + v) / 2
        d = mean_v * STEP
        lat = self._lat[-1]
        h = math.radians(self._heading)
        self._lat.append(lat + math.degrees(d * math.cos(h) / EARTH_RADIUS))
        self._lon.append(
            self._lon[-1]
            + math.degrees(d * math.sin(h) / (EARTH_RADIUS * math.cos(math.radians(lat))))
        )
        self._dist.append(self._dist[-1] + d)
        self._speed.append(v)
        self._course.append(self._heading)
        self._v = v

    def _ensure(self, t: float) -> None:
        need = int(t / STEP) + 2
        while len(self._lat) < need:
            self._step()

    # -- sampling -------------------------------------------------------------

    def _elevation(self, dist: float) -> tuple[float, float]:
        """Elevation at a distance and its slope (metres per metre)."""
        ele = self.elevation - self._hill_offset
        slope = 0.0
        for amp, k, phase in self._hills:
            ele += amp * math.sin(dist / k + phase)
            slope += amp / k * math.cos(dist / k + phase)
        return ele, slope

    def at(self, t: float) -> RoutePoint:
        """The vehicle's state ``t`` seconds after the start (t >= 0)."""
        t = max(0.0, t)
        self._ensure(t)
        i = int(t / STEP)
        f = t / STEP - i
        lat = self._lat[i] + (self._lat[i + 1] - self._lat[i]) * f
        lon = self._lon[i] + (self._lon[i + 1] - self._lon[i]) * f
        dist = self._dist[i] + (self._dist[i + 1] - self._dist[i]) * f
        speed = self._speed[i] + (self._speed[i + 1] - self._speed[i]) * f
        c0, c1 = self._course[i], self._course[i + 1]
        turn = (c1 - c0 + 180.0) % 360.0 - 180.0
        course = (c0 + turn * f) % 360.0
        ele, slope = self._elevation(dist)
        vertical = slope * speed
        return RoutePoint(
            t=t,
            lat=lat,
            lon=lon,
            ele=ele,
            speed_2d=speed,
            speed_3d=math.hypot(speed, vertical),
            course=course,
            distance=dist,
        )

    def stops(self, until: float) -> list[tuple[float, float]]:
        """Intervals ``(start, end)`` before ``until`` where the vehicle stands still."""
        self._ensure(until)
        out: list[tuple[float, float]] = []
        begin: float | None = None
        for i in range(int(until / STEP) + 1):
            still = self._speed[i] == 0.0
            if still and begin is None:
                begin = i * STEP
            elif not still and begin is not None:
                out.append((begin, i * STEP))
                begin = None
        if begin is not None:
            out.append((begin, until))
        return out


_ROUTES: dict[int, Route] = {}


def route_at(t: float, seed: int = 0) -> RoutePoint:
    """Sample the default route of ``seed`` at ``t`` seconds (cached per seed)."""
    route = _ROUTES.get(seed)
    if route is None:
        route = _ROUTES[seed] = Route(seed=seed)
    return route.at(t)
