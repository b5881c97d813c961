"""Write the real-shaped fixture logs beside this file: `python tests/data/real_shapes/make.py`.

Three sites as they are really visited, within one hour each, in the combined log format, seeded so
that the files are the same on every run (tests/test_real_shapes.py reads them, benchmarks/bans.py
replays them):

- blog.log: a personal blog whose articles carry attachments (`named.conf`, `sample.log`, `.sql`,
  `.tar.gz`) served 200 to readers, Googlebot and bingbot from their published ranges, feed readers; one
  scanner's `file://` probes, one address probing `.env` and `.git/config` (404).
- wordpress.log: a WordPress with registration open (register, lostpassword), its own wp-cron and
  Wordfence self-requests from the server's address, a logged-in editor; one brute forcer POSTing
  wp-login.php 30 times in a minute, one xmlrpc.php multicall attacker.
- news.log: a news site crawled hard by search engines and SEO crawlers from many addresses; one fake
  Googlebot from a residential address sending SQL injection to the search.

Every site's log is dated a day of its own (DAYS), so that no window holds two sites' requests; the
attack addresses are listed in tests/test_real_shapes.py, every other address is innocent."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
DAYS = {"blog.log": 10, "wordpress.log": 11, "news.log": 12}  # of March 2026, from 09:00 UTC
HOUR = 3600

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"
)
BROWSERS = (
    CHROME,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15",  # noqa: E501 (a real agent, whole)
    "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:136.0) Gecko/20100101 Firefox/136.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1",  # noqa: E501 (a real agent, whole)
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0",  # noqa: E501 (a real agent, whole)
    "Wget/1.21.4",
    "curl/8.5.0",
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_MOBILE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/134.0.6998.165 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) "
    "Chrome/116.0.1938.76 Safari/537.36"
)
SEO_CRAWLERS = {  # agent: the network its operator crawls from
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)": "54.36.148.",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)": "185.191.171.",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)": "136.243.228.",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)": "216.244.66.",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
    "(compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)": "114.119.134.",
}
# Google's and Bing's published crawler ranges (developers.google.com/search/apis/ipranges/googlebot.json,
# www.bing.com/toolbox/bingbot.json).
GOOGLE_RANGES = ("66.249.66.", "66.249.68.", "66.249.79.", "66.249.64.")
BING_RANGES = ("157.55.39.", "207.46.13.", "40.77.167.", "52.167.144.")
# Residential and mobile networks the readers come from (none of them a crawler's).
READER_RANGES = (
    "82.64.", "86.247.", "90.113.", "92.184.", "109.190.", "176.160.", "2.13.", "37.171.",
    "84.17.", "93.45.", "151.38.", "188.25.", "73.162.", "98.207.", "24.4.", "71.202.",
)  # fmt: skip

WORDPRESS_SERVER = "51.91.237.18"  # the WordPress host's own public address (wp-cron, Wordfence)


class Log:
    def __init__(self, seed: int, name: str) -> None:
        self.random = random.Random(seed)
        self.name = name
        self.start = datetime(2026, 3, DAYS[name], 9, 0, 0, tzinfo=UTC)
        self.lines: list[tuple[float, str]] = []

    def at(self) -> float:
        return self.random.uniform(0, HOUR - 300)

    def hit(self, when, ip, path, status=200, size=None, agent=CHROME, method="GET", referer="-") -> None:
        size = self.random.randint(900, 60_000) if size is None else size
        stamp = (self.start + timedelta(seconds=when)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        self.lines.append(
            (when, f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "{referer}" "{agent}"')
        )

    def reader_ip(self) -> str:
        return f"{self.random.choice(READER_RANGES)}{self.random.randint(1, 254)}.{self.random.randint(1, 254)}"

    def write(self) -> None:
        ordered = sorted(self.lines, key=lambda line: line[0])
        (HERE / self.name).write_text("".join(line + "\n" for _, line in ordered))


BLOG_ARTICLES = {  # article: its attachments, served 200 to whoever reads it
    "dynamic-dns-with-dhcp": ("/files/dynamic-dns-with-dhcp/named.conf", "/files/dynamic-dns-with-dhcp/dhcpd.conf"),
    "logrotate-by-example": ("/misc/sample.log", "/files/logrotate-by-example/logrotate.conf"),
    "mysql-replication-howto": ("/files/mysql-replication-howto/example.sql", "/files/mysql-replication-howto/my.cnf"),
    "backups-with-tar": ("/files/backups-with-tar/backup-2019.tar.gz", "/files/backups-with-tar/backup.sh"),
    "nginx-tuning": ("/files/nginx-tuning/nginx.conf", "/files/nginx-tuning/site.conf"),
    "ssh-hardening": ("/files/ssh-hardening/sshd_config", "/files/ssh-hardening/ssh_config"),
    "php-sessions": ("/files/php-sessions/php.ini", "/files/php-sessions/session-test.php.txt"),
    "postgres-dump-restore": ("/files/postgres-dump-restore/dump.sql", "/files/postgres-dump-restore/restore.sh"),
}
BLOG_ASSETS = ("/css/style.css", "/js/highlight.min.js", "/img/logo.png", "/favicon.ico")


def blog_page_view(log: Log, when: float, ip: str, agent: str, article: str) -> float:
    referer = log.random.choice(
        ("https://www.google.com/", "https://duckduckgo.com/", "-", "https://news.ycombinator.com/")
    )
    log.hit(when, ip, f"/articles/{article}/", agent=agent, referer=referer)
    for asset in BLOG_ASSETS:
        log.hit(when + 0.4, ip, asset, status=log.random.choice((200, 200, 304)), agent=agent,
                referer=f"https://blog.example/articles/{article}/")  # fmt: skip
    if "Mobile" in agent:
        log.hit(when + 0.5, ip, "/apple-touch-icon-precomposed.png", status=404, size=196, agent=agent)
    return when + log.random.uniform(20, 240)


def blog_reader(log: Log) -> None:
    ip, agent, when = log.reader_ip(), log.random.choice(BROWSERS[:7]), log.at()
    for _ in range(log.random.randint(1, 4)):
        article = log.random.choice(list(BLOG_ARTICLES))
        when = blog_page_view(log, when, ip, agent, article)
        if log.random.random() < 0.6:  # some take every attachment of the article, some of two articles
            for attachment in BLOG_ARTICLES[article]:
                log.hit(when, ip, attachment, agent=agent, referer=f"https://blog.example/articles/{article}/")
                when += log.random.uniform(2, 30)


def blog_crawlers(log: Log) -> None:
    every_url = ["/", "/feed.xml", "/sitemap.xml", "/robots.txt"] + [f"/articles/{a}/" for a in BLOG_ARTICLES]
    every_url += [url for attachments in BLOG_ARTICLES.values() for url in attachments]
    for agent, ranges, visits in ((GOOGLEBOT, GOOGLE_RANGES, 260), (GOOGLEBOT_MOBILE, GOOGLE_RANGES, 140),
                                  (BINGBOT, BING_RANGES, 220)):  # fmt: skip
        for _ in range(visits):
            ip = f"{log.random.choice(ranges)}{log.random.randint(1, 40)}"
            log.hit(log.at(), ip, log.random.choice(every_url), status=log.random.choice((200, 200, 200, 304)),
                    agent=agent)  # fmt: skip
    feeds = {
        "Feedly/1.0 (+https://feedly.com/poller.html; 38 subscribers; )": "34.211.96.12",
        "Mozilla/5.0 (compatible; inoreader.com; 9 subscribers)": "144.76.63.70",
        "NewsBlur Feed Fetcher - 4 subscribers - https://www.newsblur.com/site/81 (Mozilla/5.0)": "148.251.14.2",
        "Tiny Tiny RSS/24.10 (Unsupported) (https://tt-rss.org/)": "88.198.41.19",
        "FreshRSS/1.24.3 (Linux; https://freshrss.org)": "176.9.121.50",
    }
    for agent, ip in feeds.items():
        for minute in range(0, 60, 15):
            log.hit(minute * 60 + log.random.uniform(0, 20), ip, "/feed.xml", status=log.random.choice((200, 304)),
                    agent=agent)  # fmt: skip


def blog() -> None:
    log = Log(40, "blog.log")
    for _ in range(190):
        blog_reader(log)
    blog_crawlers(log)
    scanner, when = "45.155.205.233", 1200.0
    for path in ("/?file=file:///etc/passwd", "/index.php?page=file:///etc/passwd", "/?url=file:///etc/passwd",
                 "/download?path=file:///etc/shadow", "/proxy?url=file:///proc/self/environ",
                 "/?doc=file:///c:/windows/win.ini"):  # fmt: skip
        log.hit(when, scanner, path, status=404, size=196, agent=CHROME)
        when += 1.5
    prober, when = "193.41.206.161", 2400.0
    for path in ("/.env", "/.git/config", "/.env.bak", "/api/.env", "/.aws/credentials", "/.git/HEAD",
                 "/config/.env", "/laravel/.env"):  # fmt: skip
        log.hit(when, prober, path, status=404, size=196, agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
        when += 0.8
    log.write()


WP_PAGES = tuple(f"/2025/{m:02d}/{slug}/" for m, slug in enumerate(
    ("spring-in-the-garden", "sourdough-notes", "first-marathon", "kitchen-renovation", "wild-garlic-pesto",
     "trip-to-lisbon", "camera-settings-for-birds", "our-new-puppy"), start=1))  # fmt: skip
WP_ASSETS = (
    "/wp-content/themes/twentytwentyfive/style.css?ver=1.1",
    "/wp-includes/js/jquery/jquery.min.js?ver=3.7.1",
    "/wp-includes/css/dist/block-library/style.min.css?ver=6.8",
    "/wp-content/uploads/2025/03/garden-1024x768.jpg",
    "/wp-includes/js/wp-emoji-release.min.js?ver=6.8",
)


def wordpress_visitor(log: Log) -> None:
    ip, agent, when = log.reader_ip(), log.random.choice(BROWSERS[:7]), log.at()
    for _ in range(log.random.randint(1, 3)):
        page = log.random.choice(WP_PAGES)
        log.hit(when, ip, page, agent=agent, referer=log.random.choice(("https://www.google.com/", "-")))
        for asset in WP_ASSETS:
            log.hit(when + 0.3, ip, asset, status=log.random.choice((200, 304)), agent=agent,
                    referer=f"https://example.org{page}")  # fmt: skip
        log.hit(when + 0.6, ip, f"/wp-json/oembed/1.0/embed?url=https%3A%2F%2Fexample.org{page}", agent=agent)
        when += log.random.uniform(30, 300)
    if log.random.random() < 0.25:  # registration is open: some sign up, some lost their password
        register = log.random.choice(("register", "lostpassword"))
        log.hit(when, ip, f"/wp-login.php?action={register}", agent=agent, referer="https://example.org/")
        log.hit(when + 40, ip, f"/wp-login.php?action={register}", status=302, size=0, agent=agent, method="POST",
                referer=f"https://example.org/wp-login.php?action={register}")  # fmt: skip
        log.hit(when + 41, ip, "/wp-login.php?checkemail=confirm", agent=agent)
    elif log.random.random() < 0.1:  # a member logs in (a typo first, now and then) and comments
        for status in (200, 302) if log.random.random() < 0.3 else (302,):
            log.hit(when, ip, "/wp-login.php", status=status, agent=agent, method="POST",
                    referer="https://example.org/wp-login.php")  # fmt: skip
            when += 12
        log.hit(when + 30, ip, "/wp-comments-post.php", status=302, size=0, agent=agent, method="POST")


def wordpress_server(log: Log) -> None:
    agent = "WordPress/6.8; https://example.org"
    for minute in range(60):
        when = minute * 60 + log.random.uniform(0, 50)
        log.hit(when, WORDPRESS_SERVER, f"/wp-cron.php?doing_wp_cron={log.start.timestamp() + when:.10f}", size=0,
                agent=agent, method="POST")  # fmt: skip
        if minute % 10 == 0:
            log.hit(when + 1, WORDPRESS_SERVER, "/wp-admin/admin-ajax.php?action=wordfence_testAjax", size=1,
                    agent=agent, method="POST")  # fmt: skip
            log.hit(when + 2, WORDPRESS_SERVER, "/wp-admin/admin-ajax.php?action=wordfence_doScan&isFork=0&"
                    "scanMode=standard&cronKey=5a1f0c2d7e9b4c33", size=1, agent=agent, method="POST")  # fmt: skip
        if minute % 30 == 5:
            log.hit(when + 3, WORDPRESS_SERVER, "/wp-json/wp-site-health/v1/tests/loopback-requests?_locale=user",
                    agent=agent)  # fmt: skip


def wordpress_editor(log: Log) -> None:
    ip, agent = "86.247.12.190", BROWSERS[1]
    log.hit(300, ip, "/wp-login.php", status=302, size=0, agent=agent, method="POST")
    for when in range(310, 3300, 30):  # the block editor's heartbeat, and a few screens
        log.hit(when, ip, "/wp-admin/admin-ajax.php", size=120, agent=agent, method="POST",
                referer="https://example.org/wp-admin/post.php?post=412&action=edit")  # fmt: skip
        if when % 300 == 10:
            for path in ("/wp-admin/edit.php", "/wp-admin/post.php?post=412&action=edit", "/wp-admin/upload.php"):
                log.hit(when + 2, ip, path, agent=agent)


def wordpress() -> None:
    log = Log(41, "wordpress.log")
    for _ in range(210):
        wordpress_visitor(log)
    wordpress_server(log)
    wordpress_editor(log)
    for _ in range(120):
        log.hit(log.at(), f"{log.random.choice(GOOGLE_RANGES)}{log.random.randint(1, 40)}",
                log.random.choice(("/", "/feed/", "/wp-sitemap.xml", *WP_PAGES)), agent=GOOGLEBOT)  # fmt: skip
    forcer = "141.98.11.23"
    for attempt in range(30):
        log.hit(1800 + attempt * 2, forcer, "/wp-login.php", status=200, size=4300, method="POST",
                agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
                referer="https://example.org/wp-login.php")  # fmt: skip
    multicall = "194.180.49.117"
    for attempt in range(40):  # each POST a system.multicall of hundreds of wp.getUsersBlogs
        log.hit(
            2600 + attempt * 5,
            multicall,
            "/xmlrpc.php",
            status=200,
            size=18_000,
            method="POST",
            agent="Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0",
        )
    log.write()


NEWS_SECTIONS = ("politics", "world", "business", "sport", "culture", "science", "local")


def news_url(log: Log) -> str:
    section = log.random.choice(NEWS_SECTIONS)
    kind = log.random.random()
    if kind < 0.6:
        return f"/{section}/2026/03/{log.random.randint(1, 12):02d}/story-{log.random.randint(10_000, 99_999)}.html"
    if kind < 0.7:
        return f"/amp/{section}/story-{log.random.randint(10_000, 99_999)}.html"
    if kind < 0.8:
        tag = log.random.choice(("elections", "climate", "football", "budget", "transport"))
        return f"/tag/{tag}?page={log.random.randint(1, 40)}"
    if kind < 0.9:
        return f"/{section}/?page={log.random.randint(1, 25)}"
    return log.random.choice(("/sitemap-news.xml", "/robots.txt", "/rss/latest.xml", f"/rss/{section}.xml"))


def news() -> None:
    log = Log(42, "news.log")
    crawlers = [(GOOGLEBOT, GOOGLE_RANGES), (GOOGLEBOT_MOBILE, GOOGLE_RANGES), (BINGBOT, BING_RANGES)]
    crawlers += [(agent, (network,)) for agent, network in SEO_CRAWLERS.items()]
    for agent, ranges in crawlers:
        for _ in range(4):  # each crawls from several addresses, fast: bursts of 20 to 50 pages a minute
            ip = f"{log.random.choice(ranges)}{log.random.randint(1, 250)}"
            for _ in range(log.random.randint(2, 5)):
                when = log.at()
                for _ in range(log.random.randint(15, 40)):
                    log.hit(when, ip, news_url(log), status=log.random.choice((200, 200, 200, 301, 304, 404)),
                            agent=agent)  # fmt: skip
                    when += log.random.uniform(0.5, 2.5)
    for _ in range(300):  # readers: a front page, a story or two, with their images
        ip, agent, when = log.reader_ip(), log.random.choice(BROWSERS[:7]), log.at()
        for _ in range(log.random.randint(1, 3)):
            log.hit(when, ip, news_url(log), agent=agent, referer="https://news.google.com/")
            log.hit(when + 0.5, ip, f"/img/2026/03/{log.random.randint(1000, 9999)}.webp", agent=agent)
            when += log.random.uniform(20, 200)
    fake = "92.184.105.77"  # Orange France residential, claiming Googlebot
    for offset, query in enumerate((
        "1%27%20OR%20%271%27%3D%271", "1%27%20UNION%20SELECT%20NULL%2CNULL%2CNULL--%20-",
        "1%27%20AND%20SLEEP%285%29--%20-", "1%22%20AND%201%3D1--%20-",
        "1%27%29%20UNION%20SELECT%20username%2Cpassword%20FROM%20users--%20-",
        "1%27%3B%20WAITFOR%20DELAY%20%270%3A0%3A5%27--",
        "1%20AND%20extractvalue%281%2Cconcat%280x7e%2Cversion%28%29%29%29",
    )):  # fmt: skip
        log.hit(2000 + offset * 3, fake, f"/search?q={query}", status=200, agent=GOOGLEBOT)
        log.hit(2001 + offset * 3, fake, news_url(log), agent=GOOGLEBOT)
    log.write()


if __name__ == "__main__":
    blog()
    wordpress()
    news()
