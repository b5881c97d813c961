"""The simulated website and its visitors: a site map, users, IP addresses and user agents."""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass, field

LOW, MEDIUM, HIGH = "low", "medium", "high"


@dataclass(frozen=True)
class Endpoint:
    path: str  # `{…}` placeholders are filled per request by `Site.url`
    method: str
    action: str
    security_level: str
    median_ms: float
    sigma: float
    weight: float = 0.0  # share among browsing steps; 0 = never picked at random
    # Derived once here, read for every request.
    mu: float = field(init=False)  # log of the median response time
    placeholders: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", math.log(self.median_ms))
        names = tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)
        object.__setattr__(self, "placeholders", names)


LOGIN = Endpoint("/login", "POST", "login", HIGH, 240, 0.35)
LOGOUT = Endpoint("/logout", "POST", "logout", MEDIUM, 60, 0.4)
CLOSE_WINDOW = Endpoint("/api/track?event=close_window&page={page}", "POST", "close_window", LOW, 18, 0.4)
LOGIN_PAGE = Endpoint("/login", "GET", "view_page", MEDIUM, 70, 0.4)

BROWSING = (
    Endpoint("/", "GET", "view_page", LOW, 80, 0.5, 8),
    Endpoint("/products", "GET", "navigate_page", LOW, 120, 0.5, 10),
    Endpoint("/products?category={category}&sort={sort}", "GET", "navigate_page", LOW, 160, 0.5, 6),
    Endpoint("/products/{product}", "GET", "view_page", LOW, 140, 0.6, 20),
    Endpoint("/search?q={term}&page={page_number}", "GET", "navigate_page", LOW, 220, 0.7, 10),
    Endpoint("/blog/{slug}", "GET", "view_page", LOW, 90, 0.5, 8),
    Endpoint("/api/track?event=scroll&page=/blog/{slug}", "POST", "scroll_page", LOW, 20, 0.4, 8),
    Endpoint("/api/track?event=open_new_tab&page=/products/{product}", "POST", "open_new_tab", LOW, 20, 0.4, 3),
    Endpoint("/cart", "GET", "view_page", MEDIUM, 110, 0.5, 4),
    Endpoint("/cart/items", "POST", "submit_form", MEDIUM, 150, 0.5, 4),
    Endpoint("/checkout", "POST", "submit_form", HIGH, 450, 0.6, 2),
    Endpoint("/contact", "POST", "submit_form", LOW, 200, 0.5, 1),
    Endpoint("/account/profile", "GET", "view_page", MEDIUM, 130, 0.5, 3),
    Endpoint("/account/settings", "POST", "submit_form", HIGH, 180, 0.5, 1),
    Endpoint("/downloads/{download}", "GET", "download_file", LOW, 600, 0.8, 3),
    Endpoint("/account/documents", "POST", "upload_file", HIGH, 900, 0.8, 1),
)

STATIC_ASSETS = (
    Endpoint("/static/js/app.{build}.js", "GET", "view_page", LOW, 12, 0.6),
    Endpoint("/static/css/site.{build}.css", "GET", "view_page", LOW, 10, 0.6),
    Endpoint("/static/img/products/{product}.webp", "GET", "view_page", LOW, 25, 0.7),
)

CATEGORIES = ("shoes", "jackets", "bags", "watches", "accessories", "sale", "new-in", "kids")
SORTS = ("price", "-price", "popular", "newest")
SEARCH_TERMS = (
    "running+shoes",
    "rain+jacket",
    "leather+bag",
    "gift",
    "smart+watch",
    "socks",
    "wool+scarf",
    "sneakers",
    "backpack",
    "sunglasses",
    "belt",
    "boots",
    "hoodie",
    "t-shirt",
    "trail",
    "yoga+mat",
    "water+bottle",
    "cap",
    "gloves",
    "wallet",
    "umbrella",
    "jeans",
    "dress",
    "sandals",
)
BLOG_SLUGS = tuple(
    f"{a}-{b}"
    for a in ("how-to-choose", "care-guide", "best-of", "trends", "behind-the-scenes", "review")
    for b in ("running-shoes", "rain-gear", "leather", "watches", "winter", "travel", "gifts")
)
DOWNLOADS = tuple(
    f"{name}.pdf"
    for name in (
        "size-guide",
        "catalogue-2024",
        "returns-form",
        "warranty",
        "care-instructions",
        "lookbook",
        "press-kit",
        "terms",
        "privacy",
        "store-locations",
    )
)
BUILD_IDS = ("3f9a1c", "b72e0d", "5c41aa")
PRODUCT_COUNT = 500

REFERRERS = (
    ("google", 38),
    ("direct", 24),
    ("bing", 6),
    ("duckduckgo", 3),
    ("facebook", 7),
    ("instagram", 6),
    ("twitter", 3),
    ("linkedin", 2),
    ("newsletter", 7),
    ("reddit", 4),
)

DESKTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.86 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.129 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.65",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.86 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.86 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
)
MOBILE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.80 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.80 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
)
CRAWLER_AGENTS = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249.66.{}"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "157.55.39.{}"),
    ("Mozilla/5.0 (compatible; DuckDuckBot-Https/1.1; https://duckduckgo.com/duckduckbot)", "20.191.45.{}"),
)

FIRST_NAMES = (
    "john",
    "mary",
    "li",
    "amir",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "ava",
    "mateo",
    "yuki",
    "priya",
    "omar",
    "chloe",
    "ivan",
    "fatima",
    "diego",
    "hana",
    "lena",
    "kofi",
    "sara",
    "tom",
)
LAST_NAMES = (
    "doe",
    "smith",
    "chen",
    "khan",
    "garcia",
    "muller",
    "rossi",
    "kim",
    "nguyen",
    "silva",
    "kowalski",
    "brown",
    "ito",
    "patel",
    "haddad",
    "dubois",
    "novak",
    "larsen",
    "okafor",
    "reyes",
    "weber",
    "costa",
)
# First octets of public, routed IPv4 space (residential and mobile carriers, clouds).
PUBLIC_FIRST_OCTETS = (
    24,
    31,
    37,
    46,
    50,
    62,
    66,
    68,
    71,
    73,
    76,
    81,
    82,
    86,
    90,
    92,
    98,
    104,
    108,
    109,
    151,
    172,
    174,
    176,
    178,
    188,
    203,
    212,
    217,
)


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    devices: tuple[tuple[str, str], ...]  # (ip_address, user_agent) pairs the user browses from


@dataclass
class Population:
    users: list[User]
    crawlers: list[tuple[str, str]]  # (ip_address, user_agent)
    anonymous: list[tuple[str, str]]


def random_ipv4(rng: random.Random) -> str:
    return f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def random_ipv6(rng: random.Random) -> str:
    return "2a02:" + ":".join(f"{rng.randrange(1 << 16):x}" for _ in range(3)) + "::" + f"{rng.randrange(1, 1 << 16):x}"


def random_ip(rng: random.Random) -> str:
    return random_ipv6(rng) if rng.random() < 0.08 else random_ipv4(rng)


def random_browser_agent(rng: random.Random) -> str:
    return rng.choice(MOBILE_AGENTS) if rng.random() < 0.45 else rng.choice(DESKTOP_AGENTS)


def build_population(rng: random.Random, user_count: int) -> Population:
    """Users on one to three IPs each; office NATs share one IP among a few (about four) users."""
    nat_ips = [random_ipv4(rng) for _ in range(max(1, user_count // 25))]
    users = []
    for index in range(user_count):
        username = f"{rng.choice(FIRST_NAMES)}_{rng.choice(LAST_NAMES)}"
        if index >= len(FIRST_NAMES) * len(LAST_NAMES) // 4:
            username += str(rng.randrange(10, 100))
        devices = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            ip = rng.choice(nat_ips) if rng.random() < 0.08 else random_ip(rng)
            devices.append((ip, random_browser_agent(rng)))
        users.append(User(str(10000 + index), username, tuple(devices)))
    _make_usernames_unique(users)
    # Search engines crawl from many addresses: their number grows with the site's traffic, so
    # that one crawler address sends about as much at any scale.
    crawlers = [
        (ip_pattern.format(octet), agent)
        for agent, ip_pattern in CRAWLER_AGENTS
        for octet in rng.sample(range(1, 255), max(1, user_count // 300))
    ]
    anonymous = [(random_ip(rng), random_browser_agent(rng)) for _ in range(user_count // 2)]
    return Population(users, crawlers, anonymous)


def _make_usernames_unique(users: list[User]) -> None:
    seen: dict[str, int] = {}
    for position, user in enumerate(users):
        count = seen.get(user.username, 0)
        seen[user.username] = count + 1
        if count:
            users[position] = User(user.user_id, f"{user.username}_{count}", user.devices)


def weighted_table(weighted: tuple[tuple[object, float], ...], resolution: int = 1000) -> tuple:
    """A table in which each item appears in proportion to its weight: pick with one random()."""
    total = sum(weight for _, weight in weighted)
    return tuple(item for item, weight in weighted for _ in range(round(weight / total * resolution)))


# The values each path placeholder takes.
PLACEHOLDER_VALUES = {
    "product": tuple(range(1, PRODUCT_COUNT + 1)),
    "category": CATEGORIES,
    "sort": SORTS,
    "term": SEARCH_TERMS,
    "page_number": (1, 1, 1, 2, 2, 3),
    "slug": BLOG_SLUGS,
    "download": DOWNLOADS,
    "build": BUILD_IDS,
    "page": ("/", "/products", "/cart"),
}


class Site:
    """Fills endpoint templates and draws per-request values (status, response time).

    This is the generator's hot path: picks index tables with one `random()` instead of calling
    `rng.choice`/`rng.choices`, which cost several times more.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random
        self.browsing_table = weighted_table(tuple((endpoint, endpoint.weight) for endpoint in BROWSING))
        self.referrer_table = weighted_table(REFERRERS)

    def pick(self, items):
        return items[int(self.random() * len(items))]

    def url(self, endpoint: Endpoint) -> str:
        if not endpoint.placeholders:
            return endpoint.path
        random = self.random
        values = {}
        for name in endpoint.placeholders:
            choices = PLACEHOLDER_VALUES[name]
            values[name] = choices[int(random() * len(choices))]
        return endpoint.path.format_map(values)

    def page_status(self, endpoint: Endpoint) -> int:
        """Mostly 200; some redirects and not-modified; 404s from stale links; rare 5xx."""
        roll = self.random()
        if roll < 0.935:
            return 200
        if roll < 0.955:
            return 304 if endpoint.method == "GET" else 200
        if roll < 0.97:
            return 301 if endpoint.method == "GET" else 302
        if roll < 0.982:
            return 404 if "{" in endpoint.path else 200
        if roll < 0.986:
            return 400
        if roll < 0.988:
            return 403
        if roll < 0.9965:
            return 200
        return 500 if roll < 0.999 else 503

    def browsing_step(self) -> Endpoint:
        return self.pick(self.browsing_table)

    def first_referrer(self) -> str:
        return self.pick(self.referrer_table)
