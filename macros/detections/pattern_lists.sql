{#- Generated from the pattern seeds (secmon/core/pattern_seeds.py) by `secmon patterns`: do not edit by hand. -#}
{% macro pattern_list(name) -%}
{{ return({
    "admin_interfaces": ["/admin", "/manager", "/phpmyadmin", "/pma", "/wp-admin", "/wp-login", "/phpinfo", "/boaform/", "/kcfinder/upload.php", "/+cscoe+/", "/dana-na/", "/repeater.php", "/sitecore/admin/login.aspx", "/sitecore/login/default.aspx", "/sitecore/admin/cache.aspx", "/solr/", "/sphider/admin/admin.php", "/sitefinity/authenticate/swt", "/scriptcase/devel/iface/", "/scriptcase/prod/lib/php/", "/web/database/manager", "/sfmc/login", "/dms/out/out.login.php", "/rsso/admin/", "/admin/login_uid.php", "/remote/login", "/commandcenter/restservlet/"],
    "backdoors": ["1.php", "1337.php", "150.php", "3fexe.asp", "acid.php", "Ajax_PHP_Command_Shell.php", "AK-74.php", "alfa-rex.php", "alfa-rex.php56", "alfa3.php", "andela.php", "angel.php", "Ani-Shell.php", "Antichat_Shell.php", "antichat.php", "aspxSH.asp", "aspxshell.aspx", "ASpy.asp", "aspydrv.asp", "aspydrv.php", "Ayyildiz_Tim.php", "aZRaiLPhp_v1.0.php", "b37.php", "backupsql.php", "bdotw44shell.php", "bloodsecv4.php", "browser.jsp", "bug.php", "bypass.php", "c.php", "c100.php", "c37.php", "c66.php", "c99_locus7s.php", "c99_madnet.php", "c99_PSych0.php", "c99_w4cking.php", "c99-shadows-mod.php", "c99-Ultimate.php", "c99.php", "c99madshell.php", "c99shell.php", "c99ud.php", "c99unlimited.php", "c99v2.php", "CasuS-1.5.php", "cbfphpsh.php", "cgitelnet.php", "cgitelnet.pl", "cihshell_fix.php", "cmd_win32.jsp", "cmd.asp", "cmd.aspx", "cmd.jsp", "cmd.php", "cmd.pl", "cmdexec.aspx", "co.php", "configkillerionkros.php", "connect-back.php", "cpg_143_incl_xpl.php", "Crystal.php", "CrystalShell.php", "css.php", "ctt_sh.php", "CWShellDumper.php", "cybershell.php", "dc.pl", "dC3_Security.php", "ddos.php", "Dive_Shell.php", "dq.php", "dra.php", "DTool_Pro.php", "Dx.php", "ee.php", "EFSO.asp", "egy.php", "Ekin0x.php", "elmaliseker.asp", "erne.php", "eval-stdin.php", "ex0shell.php", "FaTaLisTiCz_Fx.php", "filesman.php", "filesystembrowser.aspx", "fileupload.aspx", "g00nshell-v1.3.php", "g00nv13.php", "G5.php", "Gamma_Web_Shell.php", "GRP_WebShell.php", "hacker.php", "hkrkoz.php", "indosec.php", "irc.pl", "ironshell.php", "isko.php", "iskorpitx.php", "itsecteam_shell.php", "jspbd.jsp", "jspshell.jsp", "jspShell.jsp", "JspWebshell 1.2.jsp", "JspWebshell_1.2.php", "KA_uShell_0.1.6.php", "kral.php", "lifkaS.php", "list.jsp", "list.pl", "liz0zim.php", "Loaderz_WEB_Shell.php", "locus.php", "Locus7s.php", "log.php", "lolipop.php", "lostDC.php", "Mackers_Private_Shell.php", "matamu.php", "megabor.php", "mma.php", "Moroccan_Spamers.php", "MyShell.php", "NCC-Shell.php", "NetworkFileManagerPHP.php", "NGH.php", "Non-alphanumeric.php", "NTDaddy_v1.9.php", "ntdaddy.asp", "obfuscated-punknopass.php", "password.php", "PerlWebShellbyRST-GHC.pl", "PHANTASMA.php", "Php_Backdoor.txt.php", "PHP_Shell.php", "php-backdoor.php", "pHpINJ.php", "PHPJackal.php", "PHPRemoteView.php", "PhpSpy.php", "PHPSPY.php", "PHVayv.php", "Predator.php", "Private-i3lue.php", "punk-nopass.php", "punkholic.php", "pws.php", "pws.pl", "qsd-backdoor.php", "r00t.php", "r57.php", "r58.php", "RemExp.asp", "root.php", "Rootshell.v.1.0.php", "ru24_post_sh.php", "s72_Shell.php", "Safe_Mode_Bypass.php", "Safe0ver_Shell.php", "safe0ver.php", "sh3llx.php", "shell.php", "simattacker.php", "simple_cmd.php", "Simple_PHP_backdoor.php", "simple-backdoor.php", "SimShell.php", "Sincap_1.0.php", "Small_Web_Shell.php", "smevk.php", "SnIpEr_SA Shell.php", "sniper.php", "soldierofallah.php", "sosyete.php", "spexec.aspx", "spygrup.php", "spyshell.php", "sql.aspx", "STNC_WebShell_v0.8.php", "stres.php", "t4", "tool.asp", "toolaspshell.asp", "tryag.php", "udp.php", "up_win32.jsp", "up.asp", "up.jsp", "up.pl", "upfile.php", "upl.php", "upl0ader.php", "weevely.php", "wewo.pl", "WinX_Shell.php", "Worse_Linux_Shell.php", "wp-term.php", "ws.php", "wso2.8.5.php", "xleet-shell.php", "xleet.php", "xx.php", "zacosmall.php", "zehir.asp", "zehir.aspx", "zehir4.asp", "zehir4.aspx", "zehir4.php", "ZyklonShell.php"],
    "bad_user_agents": ["360Spider", "404checker", "404enemy", "80legs", "Abonti", "Aboundex", "Aboundexbot", "Acunetix", "ADmantX", "AfD-Verbotsverfahren", "AIBOT", "AiHitBot", "Aipbot", "Alexibot", "Alligator", "AllSubmitter", "AlphaBot", "Anarchie", "Ankit", "Anthill", "Apexoo", "arquivo.pt", "arquivo-web-crawler", "Aspiegel", "ASPSeek", "Asterias", "Attach", "autoemailspider", "AwarioRssBot", "AwarioSmartBot", "BackDoorBot", "Backlink-Ceck", "backlink-check", "BacklinkCrawler", "BackStreet", "BackWeb", "Badass", "Bandit", "Barkrowler", "BatchFTP", "Battleztar Bazinga", "BBBike", "BDCbot", "BDFetch", "BetaBot", "Bigfoot", "Bitacle", "Blackboard", "Black Hole", "BlackWidow", "BLEXBot", "Blow", "BlowFish", "Boardreader", "Bolt", "BotALot", "Brandprotect", "Brandwatch", "Buck", "Buddy", "BuiltBotTough", "BuiltWith", "Bullseye", "BunnySlippers", "BuzzSumo", "Calculon", "CATExplorador", "CazoodleBot", "CCBot", "Cegbfeieh", "CensysInspect", "check1.exe", "CheeseBot", "CherryPicker", "CheTeam", "ChinaClaw", "Chlooe", "Claritybot", "Cliqzbot", "Cloud mapping", "Cocolyzebot", "CODE87", "Cogentbot", "cognitiveseo", "Collector", "colly", "com.plumanalytics", "Copier", "CopyRightCheck", "Copyscape", "Cosmos", "Craftbot", "crawler4j", "crawler.feedback", "crawl.sogou.com", "CrazyWebCrawler", "Crescent", "CrunchBot", "CSHttp", "Curious", "Custo", "CyotekWebCopy", "DatabaseDriverMysqli", "DataCha0s", "DBLBot", "demandbase-bot", "Demon", "Deusu", "Devil", "Digincore", "DigitalPebble", "DIIbot", "Dirbuster", "Disco", "Discobot", "Discoverybot", "Dispatch", "DittoSpyder", "DnyzBot", "DomainAppender", "DomainCrawler", "DomainSigmaCrawler", "Domains Project", "domainsproject.org", "DomainStatsBot", "Dotbot", "Download Wonder", "Dragonfly", "Drip", "DSearch", "DTS Agent", "EasyDL", "Ebingbong", "eCatch", "ECCP/1.0", "Ecxi", "EirGrabber", "EMail Siphon", "EMail Wolf", "EroCrawler", "evc-batch", "Evil", "Exabot", "Express WebPictures", "ExtLinksBot", "Extractor", "ExtractorPro", "Extreme Picture Finder", "EyeNetIE", "Ezooms", "facebookscraper", "FDM", "FemtosearchBot", "FHscan", "Fimap", "Firefox/7.0", "FlashGet", "Flunky", "Foobot", "Freeuploader", "FrontPage", "FyberSpider", "Fyrebot", "GalaxyBot", "Genieo", "GermCrawler", "Getintent", "GetRight", "GetWeb", "Gigablast", "Gigabot", "G-i-g-a-b-o-t", "Go-Ahead-Got-It", "gobuster", "Gotit", "GoZilla", "Go!Zilla", "Grabber", "GrabNet", "Grafula", "GrapeFX", "GridBot", "GT::WWW", "Haansoft", "HaosouSpider", "Harvest", "Havij", "HEADMasterSEO", "heritrix", "Heritrix", "Hloader", "HMView", "HTMLparser", "HTTP::Lite", "HTTrack", "Humanlinks", "HybridBot", "Iblog", "IDBot", "IDBTE4M", "Id-search", "IlseBot", "Image Fetch", "Image Sucker", "IndeedBot", "Indy Library", "InfoNaviRobot", "InfoTekies", "instabid", "Intelliseek", "InterGET", "Internet Ninja", "InternetSeer", "internetVista monitor", "ips-agent", "Iria", "IRLbot", "isitwp.com", "Iskanie", "IstellaBot", "JamesBOT", "Jbrofuzz", "JennyBot", "JetCar", "Jetty", "JikeSpider", "JOC Web Spider", "Joomla", "Jorgee", "JustView", "Jyxobot", "Kenjin Spider", "Keyword Density", "Kinza", "Kozmosbot", "Lanshanbot", "Larbin", "LeechFTP", "LeechGet", "LexiBot", "Lftp", "LibWeb", "Libwhisker", "LieBaoFast", "Lightspeedsystems", "Likse", "Linkbot", "Linkdexbot", "LinkextractorPro", "LinkpadBot", "LinkScan", "LinksManager", "LinkWalker", "LinqiaMetadataDownloaderBot", "LinqiaRSSBot", "LinqiaScrapeBot", "Lipperhey", "Lipperhey Spider", "Litemage_walker", "Lmspider", "LNSpiderguy", "Ltx71", "lwp-request", "LWP::Simple", "lwp-trivial", "Magnet", "Mag-Net", "magpie-crawler", "Majestic12", "Majestic-SEO", "Majestic SEO", "MarkMonitor", "MarkWatch", "Masscan", "masscan", "Mass Downloader", "Mata Hari", "MauiBot", "Mb2345Browser", "meanpathbot", "Meanpathbot", "MeanPath Bot", "Mediatoolkitbot", "mediawords", "MegaIndex.ru", "Metauri", "MFC_Tear_Sample", "Microsoft Data Access", "Microsoft URL Control", "MIDown tool", "MIIxpc", "Mister PiX", "MJ12bot", "Mojeek", "Mojolicious", "Morfeus Fucking Scanner", "Mozlila", "Mr.4x3", "MSFrontPage", "MSIECrawler", "Msrabot", "muhstik-scan", "Musobot", "Name Intelligence", "Nameprotect", "Navroad", "NearSite", "Needle", "Nessus", "NetAnts", "Netcraft", "netEstate NE Crawler", "NetLyzer", "NetMechanic", "NetSpider", "Nettrack", "Net Vampire", "Netvibes", "NetZIP", "NextGenSearchBot", "Nibbler", "NICErsPRO", "Niki-bot", "Nikto", "NimbleCrawler", "Nimbostratus", "Ninja", "Nuclei", "Nmap", "NPbot", "Nutch", "oBot", "Octopus", "Offline Explorer", "Offline Navigator", "OnCrawl", "Openfind", "OpenLinkProfiler", "Openvas", "OpenVAS", "OPPO A33", "OrangeBot", "OrangeSpider", "OutclicksBot", "OutfoxBot", "PageAnalyzer", "Page Analyzer", "PageGrabber", "page scorer", "PageScorer", "Pandalytics", "Panscient", "Papa Foto", "Pavuk", "pcBrowser", "PECL::HTTP", "PeoplePal", "Petalbot", "PHPCrawl", "Picscout", "Picsearch", "PictureFinder", "Pimonster", "Pi-Monster", "Pixray", "PleaseCrawl", "plumanalytics", "Pockey", "POE-Component-Client-HTTP", "polaris version", "Probethenet", "ProPowerBot", "ProWebWalker", "Psbot", "Pump", "PxBroker", "PyCurl", "QueryN Metasearch", "Quick-Crawler", "RankActive", "RankActiveLinkBot", "RankFlex", "RankingBot", "RankingBot2", "Rankivabot", "RankurBot", "RealDownload", "Reaper", "RebelMouse", "Recorder", "RedesScrapy", "ReGet", "RepoMonkey", "Ripper", "RocketCrawler", "Rogerbot", "RSSingBot", "s1z.ru", "SalesIntelligent", "satoristudio.net", "SBIder", "ScanAlert", "Scanbot", "scan.lol", "ScoutJet", "Scrapy", "Screaming", "ScreenerBot", "Searchestate", "SearchmetricsBot", "SentiBot", "SEOkicks", "SEOkicks-Robot", "SEOlyticsCrawler", "Seomoz", "SEOprofiler", "seoscanners", "SeoSiteCheckup", "SEOstats", "serpstatbot", "sexsearcher", "Shodan", "Siphon", "SISTRIX", "Sitebeam", "SiteCheckerBotCrawler", "sitechecker.pro", "SiteExplorer", "Siteimprove", "SiteLockSpider", "SiteSnagger", "SiteSucker", "Site Sucker", "Sitevigil", "SlySearch", "SmartDownload", "SMTBot", "Snake", "Snapbot", "Snoopy", "SocialRankIOBot", "Sociscraper", "sogouspider", "Sogou web spider", "Sosospider", "Sottopop", "SpaceBison", "Spammen", "SpankBot", "Spanner", "sp_auditbot", "Spbot", "Spinn3r", "SputnikBot", "spyfu", "Sqlmap", "Sqlworm", "Sqworm", "Steeler", "Stripper", "Sucker", "Sucuri", "SuperBot", "SuperHTTP", "Surfbot", "SurveyBot", "Suzuran", "Swiftbot", "sysscan", "Szukacz", "T0PHackTeam", "T8Abot", "tAkeOut", "Teleport", "TeleportPro", "Telesoft", "Telesphoreo", "Telesphorep", "The Intraformant", "TheNomad", "Thumbor", "TightTwatBot", "Titan", "Toata", "Toweyabot", "Tracemyfile", "Trendiction", "Trendictionbot", "trendiction.com", "trendiction.de", "True_Robot", "Turingos", "Turnitin", "TurnitinBot", "TwengaBot", "Twice", "Typhoeus", "UnisterBot", "Upflow", "URLy.Warning", "URLy Warning", "Vacuum", "Vagabondo", "VB Project", "VCI", "VelenPublicWebCrawler", "VeriCiteCrawler", "VidibleScraper", "Virusdie", "VoidEYE", "Voil", "Voltron", "Wallpapers/3.0", "WallpapersHD", "WASALive-Bot", "WBSearchBot", "Webalta", "WebAuto", "Web Auto", "WebBandit", "WebCollage", "Web Collage", "WebCopier", "WEBDAV", "WebEnhancer", "Web Enhancer", "WebFetch", "Web Fetch", "WebFuck", "Web Fuck", "WebGo IS", "WebImageCollector", "WebLeacher", "WebmasterWorldForumBot", "webmeup-crawler", "WebPix", "Web Pix", "WebReaper", "WebSauger", "Web Sauger", "Webshag", "WebsiteExtractor", "WebsiteQuester", "Website Quester", "Webster", "WebStripper", "WebSucker", "Web Sucker", "WebWhacker", "WebZIP", "WeSEE", "Whack", "Whacker", "Whatweb", "Who.is Bot", "Widow", "WinHTTrack", "WiseGuys Robot", "WISENutbot", "Wonderbot", "Woobot", "Wotbox", "Wprecon", "WPScan", "WWW-Collector-E", "WWW-Mechanize", "WWW::Mechanize", "WWWOFFLE", "x09Mozilla", "x22Mozilla", "Xaldon_WebSpider", "Xaldon WebSpider", "Xenu", "xpymep1.exe", "YoudaoBot", "Zade", "Zauba", "zauba.io", "Zermelo", "Zeus", "zgrab", "Zitebot", "ZmEu", "ZoomBot", "ZoominfoBot", "ZumBot", "ZyBorg"],
    "path_traversal": ["../", "..\\", "..\\/", "%2e%2e%2f", "%2E%2E%2F", "%252e%252e%252f", "%252E%252E%252F", "/etc/passwd", "/etc/hosts", "/etc/shadow", "/etc/groups", "%2fetc%2fhosts", "%2fetc%2fshadow", "%2fetc%2fgroups", "%2fetc%2fpasswd", "%2Fetc%2Fhosts", "%2Fetc%2Fshadow", "%2Fetc%2Fgroups", "%2Fetc%2Fpasswd", "=file://", "=zip://", "=php://", "=expect://", "=data://", "/proc/self/", "/var/log/", "windows/win.ini", "Windows/win.ini", "%25SYSTEMROOT%25%5Cwin.ini", "C:/inetpub/wwwroot/global.asa", "C:\\inetpub\\wwwroot\\global.asa", "C:/boot.ini", "C:\\boot.ini"],
    "sensitive_files": [".sql", ".sql.gz", ".sql.tar", ".sql.bzip2", ".sql.bz2", ".sql.zip", ".sql.rar", ".sql.7z", ".bash_history", ".bashrc", ".cache", ".config", ".cvs", ".cvsignore", ".env", ".env.backup", "env.bak", "env.backup", ".env.dev", ".env.development", ".env.development.local", ".env.dist", ".env.docker.dev", ".env.local", ".env.php", ".env.prod", ".env.production.local", ".env.sample.php", ".env.save", ".env.staging", ".env.stage", ".env.test", ".environment", ".envrc", ".envs", ".env~", "env.production.js", "env.test.js", "env.dev.js", "test-env.json", "env.json", ".forward", ".jupyter/jupyter_notebook_config.json", ".git/HEAD", ".git/config", ".git", ".gitlab-ci/.env", ".history", ".hta", ".htaccess", ".htpasswd", ".lanproxy/config.json", ".listing", ".listings", ".msmtprc", ".mysql_history", ".passwd", ".pwd", ".perf", ".profile", ".rhosts", ".sh_history", ".ssh", ".subversion", ".svn", ".svn/entries", ".s3cfg", ".bak", ".exe", ".bat", ".dll", ".printer", ".pac", ".aws", ".aws/config", ".awscfg", "aws-key.yml", "config/aws.yml", "secrets.yml", "secrets.json", "aws/credentials", ".config/gatsby/config.json", ".deployment-config.json", ".docker/config.json", ".docker/.env", ".docker/daemon.json", ".cordova/config.json", ".vscode/sftp.json", "_wpeprivate/config.json", "composer.json", "composer.lock", "debug.log"],
    "sqli_patterns": ["%40%40version", "..xp_cmdshell", "information_schema.tables", "%20union%20all%20select%20", "%20union%20select%20", "%2cnull%2cnull", "benchmark%28", "load_file%28", "substr%28", "substring%28", "selectchar%28", "%7c%7cchr%28", "distinct%28", "pg_sleep%28", "sleep%28", "upper%28", "hex%28", "md5%28"],
    "xss_patterns": ["<img", "<svg", "<script", "<div", "<a", "<embed", "<style", "javascript:", "alert(", "prompt(", "<br", "<input", "<table", "<object", "<body", "<p ", "<meta", "<frameset", "%3Cimg", "%3Cscript", "%3Cdiv", "%3Ca", "%3Cembed", "%3Cstyle", "javascript%3A", "alert%28", "prompt%28", "%3Cbr", "%3Cinput", "%3Ctable", "%3Cobject", "%3Cbody", "%3Cp ", "%3Cmeta", "%3Cframeset", "%3Csvg"],
    "scanner_user_agents": ["nikto", "sqlmap", "nmap scripting engine", "masscan", "nuclei", "wpscan", "zgrab", "acunetix", "netsparker", "dirbuster", "gobuster", "feroxbuster", "ffuf", "wfuzz", "hydra", "openvas", "nessus", "zmeu", "morfeus fucking scanner", "w3af", "jaeles", "whatweb", "fimap", "commix", "skipfish", "arachni", "joomscan", "droopescan", "xray", "l9explore", "fuzz faster u fool"],
    "allowed_user_agents": ["Googlebot", "bingbot", "DuckDuckBot", "Applebot", "YandexBot", "Baiduspider"],
    "login_endpoints": ["/wp-login.php", "/xmlrpc.php", "/login", "/login.php", "/signin", "/sign-in", "/auth/login", "/account/login", "/accounts/login", "/accounts/login/", "/user/login", "/user/login/", "/users/sign_in", "/api/auth", "/api/login", "/api/auth/login", "/administrator/index.php", "/administrator", "/index.php/admin", "/admin/login", "/admin/login.php", "/j_security_check", "/phpmyadmin/index.php"],
    "exploit_signatures": ["${jndi:", "%24%7bjndi:", "${${", "/.%2e/", "%%32%65", ".%%32%65/", "class.module.classloader", "eval-stdin.php", "invokefunction", "/cgi-bin/luci/;stok=", "/cgi-bin/%2e%2e/", "/bin/sh", "() {", "element_parents=account/mail/%23value", "_triggering_element_name", "%23post_render", "#post_render", "wp-config.php.bak", "wp-config.php~", "wp-config.php.old", "wp-config.php.save", "wp-config.php.swp", "wp-config.php.orig", "/_ignition/execute-solution", "/actuator/gateway/routes", "/mgmt/tm/util/bash", "/remote/fgt_lang?lang=/../", "/gponform/diag_form", "/console/css/%252e%252e%252f", "/boaform/admin/formlogin", "/hnap1/"]
}[name]) }}
{%- endmacro %}

{#- An attack family's regular expressions as one alternation (seeds/attack_families.csv). -#}
{% macro family_regex(name) -%}
{{ return({
    "sqli": "('\\s*(or|and|xor|\\|\\||&&)\\s*('|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|('\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))",
    "xss": "(<\\s*/?\\s*(script|iframe|object|embed|applet|svg|math|style|link|meta|base|form|body|img|video|audio|details|marquee|frameset|isindex)[^a-z0-9_])|((javascript|vbscript|livescript)\\s*:)|(on(error|load|mouseover|mouseenter|mouseout|focus|blur|click|dblclick|toggle|animationstart|begin|pageshow|submit|keyup|keydown|input|change)\\s*=)|(data\\s*:\\s*text/html)|((expression|url)\\s*\\(\\s*['\"]?\\s*(javascript|vbscript|data):)|((document\\.(cookie|domain|location|write)|window\\.location|string\\.fromcharcode|(alert|prompt|confirm)\\s*(\\(|`)))",
    "path_traversal": "(\\.\\.(/|\\\\|;/))|(/etc/(passwd|shadow|group|hosts|issue)|/proc/self/|(win|boot|system)\\.ini|windows\\\\system32)|((php|zip|phar|expect|data)://)",
    "ssi": "(<!--\\s*#\\s*(include|exec|echo|config|printenv|fsize|flastmod|set|if))",
    "crlf": "([\\r\\n]\\s*(set-cookie|location|content-type|content-length|refresh|x-[a-z-]+)\\s*:)|([\\r\\n][\\r\\n]\\s*<)",
    "command_injection": "((;|\\||&|`|\\$\\()\\s*(cat|id|whoami|uname|wget|curl|nc|ncat|bash|sh|ping|nslookup|powershell|cmd|echo|ls)(\\s|;|\\||&|`|\\)|$))|(/bin/(sh|bash|busybox)|cmd\\.exe|powershell\\.exe)",
    "template_injection": "(\\$\\{[^}]*\\}|\\{\\{[^}]*\\}\\}|#\\{[^}]*\\}|<%=)",
    "ssrf": "((file|gopher|dict|ldap|tftp|jar|netdoc)://)|(169\\.254\\.169\\.254|metadata\\.google\\.internal|100\\.100\\.100\\.200|fd00:ec2::254)|(=\\s*https?://(127\\.|localhost|0\\.0\\.0\\.0|\\[::1?\\]|10\\.|192\\.168\\.))",
    "sensitive_file": "(\\.(bak|old|orig|save|swp|swo|inc|java|class|sql|sqlite|db|mdb|log|ini|conf|cfg|config|env|pem|key|htpasswd|htaccess|ds_store)(\\?|$)|~(\\?|$))|(/(\\.git|\\.svn|\\.hg|\\.env|web-inf|meta-inf|_vti_bin|_vti_pvt|_vti_cnf|cfide/administrator|server-status|server-info|phpinfo\\.php|wp-config\\.php)(/|\\?|$|\\.))",
    "webshell": "(/(c99|r57|c100|wso|b374k|alfa|indoxploit|priv8|mini|shell|cmd|up|upl)[a-z0-9_-]*\\.(php|asp|aspx|jsp)(\\?|$))|(\\.(php|asp|aspx|jsp)\\?(cmd|exec|command|execute|shell)=)"
}[name]) }}
{%- endmacro %}

{#- The attack families, in seed order. -#}
{% macro attack_families() -%}
{{ return(["sqli", "xss", "path_traversal", "ssi", "crlf", "command_injection", "template_injection", "ssrf", "sensitive_file", "webshell"]) }}
{%- endmacro %}

{#- CrowdSec hub signatures (seeds/crowdsec_hub_signatures.csv): [name, CVE, SQL condition]. -#}
{% macro hub_signatures() -%}
{{ return([
 [
  "baudneo/zoneminder_cve-2022-39290",
  "CVE-2022-39290",
  "(upper(http_method) = 'GET' and upper(url) ~ '.*ACTION=.*')"
 ],
 [
  "crowdsecurity/CVE-2017-9841",
  "CVE-2017-9841",
  "lower(url) like '%util/php/eval-stdin.php'"
 ],
 [
  "crowdsecurity/CVE-2019-18935",
  "CVE-2019-18935",
  "decoded_url like '/telerik.web.ui.webresource.axd?type=rau%'"
 ],
 [
  "crowdsecurity/CVE-2022-26134",
  "CVE-2022-26134",
  "decoded_url like '%@java.lang.runtime@getruntime().exec(%'"
 ],
 [
  "crowdsecurity/CVE-2022-35914",
  "CVE-2022-35914",
  "upper(url) like '%/VENDOR/HTMLAWED/HTMLAWED/HTMLAWEDTEST.PHP%'"
 ],
 [
  "crowdsecurity/CVE-2022-41082",
  "CVE-2022-41082",
  "(upper(url) like '%/AUTODISCOVER/AUTODISCOVER.JSON%' and upper(split_part(url, '?', 2)) like '%POWERSHELL%')"
 ],
 [
  "crowdsecurity/CVE-2022-42889",
  "CVE-2022-42889",
  "(decoded_url like '%${script:javascript:java.lang.runtime.getruntime().exec(%' or decoded_url like '%${script:js:java.lang.runtime.getruntime().exec(%' or decoded_url like '%${url:utf-8:%' or decoded_url like '%${dns:address|%')"
 ],
 [
  "crowdsecurity/CVE-2022-44877",
  "CVE-2022-44877",
  "(lower(url) like '%/index.php%' and upper(http_method) = 'POST' and cast(status_code as varchar) = '302' and lower(split_part(url, '?', 2)) ~ 'login=.*[$|%24][\\(|%28].*[\\)|%29]')"
 ],
 [
  "crowdsecurity/CVE-2022-46169-cmd",
  "CVE-2022-46169",
  "(upper(url) like '%/REMOTE\\_AGENT.PHP%' and upper(http_method) = 'GET' and lower(split_part(url, '?', 2)) like '%action=polldata%' and lower(split_part(url, '?', 2)) ~ 'poller_id=.*(;|%3b)')"
 ],
 [
  "crowdsecurity/CVE-2023-22518",
  "CVE-2023-22518",
  "(upper(url) like '%/JSON/SETUP-RESTORE.ACTION%' and upper(http_method) = 'POST')"
 ],
 [
  "crowdsecurity/CVE-2023-49103",
  "CVE-2023-49103",
  "lower(url) like '%/owncloud/apps/graphapi/vendor/microsoft/microsoft-graph/tests/getphpinfo.php%'"
 ],
 [
  "crowdsecurity/f5-big-ip-cve-2020-5902",
  "CVE-2020-5902",
  "(upper(url) ~ '/TMUI/LOGIN.JSP/..;/TMUI/[^.]+.JSP\\?(FILENAME|COMMAND|DIRECTORYPATH|TABID)=' or upper(url) ~ '/TMUI/LOGIN.JSP/%2E%2E;/TMUI/[^.]+.JSP\\?(FILENAME|COMMAND|DIRECTORYPATH|TABID)=')"
 ],
 [
  "crowdsecurity/fortinet-cve-2018-13379",
  "CVE-2018-13379",
  "upper(url) like '%/REMOTE/FGT\\_LANG?LANG=/../../../..//////////DEV/CMDB/SSLVPN\\_WEBSESSION%'"
 ],
 [
  "crowdsecurity/fortinet-cve-2022-40684",
  "CVE-2022-40684",
  "(upper(url) like '/API/V2/CMDB/SYSTEM/ADMIN/%' and lower(coalesce(user_agent, '')) = 'report runner')"
 ],
 [
  "crowdsecurity/grafana-cve-2021-43798",
  "CVE-2021-43798",
  "(upper(url) ~ '/PUBLIC/PLUGINS/[^/]+/../[./]+/' or upper(url) ~ '/PUBLIC/PLUGINS/[^/]+/%2E%2E/[%2E/]+/')"
 ],
 [
  "crowdsecurity/http-cve-2021-41773",
  "CVE-2021-41773",
  "(upper(url) like '%/.\\%2E/.\\%2E/%' or upper(url) like '%/\\%2E\\%2E/\\%2E\\%2E%')"
 ],
 [
  "crowdsecurity/http-cve-2021-42013",
  "CVE-2021-42013",
  "upper(url) like '%/\\%\\%32\\%65\\%\\%32\\%65/%'"
 ],
 [
  "crowdsecurity/http-generic-test",
  "",
  "url = '/crowdsec-test-NtktlJHV4TfBSK3wvlhiOBnl'"
 ],
 [
  "crowdsecurity/http-open-proxy",
  "",
  "(cast(status_code as varchar) in ('400', '405') and (http_method = 'CONNECT' or url ~ '^http[s]?://'))"
 ],
 [
  "crowdsecurity/netgear_rce",
  "CVE-2024-12847",
  "decoded_url like '/setup.cgi?next\\_file=netgear.cfg&todo=syscmd&cmd=%'"
 ],
 [
  "crowdsecurity/pulse-secure-sslvpn-cve-2019-11510",
  "CVE-2019-11510",
  "(upper(url) ~ '/DANA-NA/../DANA/HTML5ACC/GUACAMOLE/../../../../../../../[^?]+\\?/DANA/HTML5ACC/GUACAMOLE/' or upper(url) ~ '/DANA-NA/%2E%2E/DANA/HTML5ACC/GUACAMOLE/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/[^?]+\\?/DANA/HTML5ACC/GUACAMOLE/')"
 ],
 [
  "crowdsecurity/spring4shell_cve-2022-22965",
  "CVE-2022-22965",
  "upper(url) like '%CLASS.MODULE.CLASSLOADER.%'"
 ],
 [
  "crowdsecurity/vmware-cve-2022-22954",
  "CVE-2022-22954",
  "decoded_url like '/catalog-portal/ui/oauth/verify?error=&deviceudid=${\"freemarker.template.utility.execute\"?new()(%'"
 ],
 [
  "crowdsecurity/vmware-vcenter-vmsa-2021-0027",
  "CVE-2021-0027",
  "url ~ '/ui/vcav-bootstrap/rest/vcav-providers/provider-logo\\?url=(file|http)'"
 ],
 [
  "crowdsecurity/vpatch-CVE-2002-1131",
  "CVE-2002-1131",
  "(((decoded_url like '%/src/addressbook.php%') and (split_part(decoded_url, '?', 2) like '%<%')) or ((decoded_url like '%/src/options.php%') and (split_part(decoded_url, '?', 2) like '%<%' and split_part(decoded_url, '?', 2) like '%optpage=%')) or ((decoded_url like '%/src/search.php%') and (split_part(decoded_url, '?', 2) like '%<%' and split_part(decoded_url, '?', 2) like '%mailbox=%' and split_part(decoded_url, '?', 2) like '%where=%')) or ((decoded_url like '%/src/help.php%') and (split_part(decoded_url, '?', 2) like '%<%' and split_part(decoded_url, '?', 2) like '%chapter=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2007-0885",
  "CVE-2007-0885",
  "(((decoded_url like '%/jira/secure/browseproject.jspa%') and (split_part(decoded_url, '?', 2) like '%<%' and split_part(decoded_url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2014-5181",
  "CVE-2014-5181",
  "(((decoded_url like '%/wp-content/plugins/lastfm-rotation/lastfm-proxy.php%') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%snode=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2017-9841",
  "CVE-2017-9841",
  "(((lower(url) like '%/util/php/eval-stdin.php')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-1000861",
  "CVE-2018-1000861",
  "(((lower(url) like '%descriptorbyname/org.jenkinsci.plugins.workflow.cps.cpsflowdefinition/checkscriptcompile')) or ((lower(url) like '%securityrealm/user/admin')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-10562",
  "CVE-2018-10562",
  "(((http_method = 'POST') and (lower(url) like '%/gponform/diag\\_form')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-1207",
  "CVE-2018-1207",
  "(((lower(url) like '%/cgi-bin/login%') and (lower(split_part(url, '?', 2)) like '%=files%' and lower(split_part(url, '?', 2)) like '%ld\\_debug=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-13317",
  "CVE-2018-13317",
  "((decoded_url = '/password.htm'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-13379",
  "CVE-2018-13379",
  "(((http_method = 'GET') and (lower(url) like '%/remote/fgt\\_lang%') and (lower(split_part(url, '?', 2)) like '%../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2018-20062",
  "CVE-2018-20062",
  "(((lower(url) like '%index.php') and (lower(split_part(url, '?', 2)) like '%think%' and lower(split_part(url, '?', 2)) like '%s=%') and (lower(split_part(url, '?', 2)) ~ '[^a-za-z0-9_.]*' and lower(split_part(url, '?', 2)) like '%s=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2019-1003030",
  "CVE-2019-1003030",
  "(((lower(url) like '%descriptorbyname/org.jenkinsci.plugins.scriptsecurity.sandbox.groovy.securegroovyscript/checkscript')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2019-12989",
  "CVE-2019-12989",
  "(((http_method = 'POST') and (lower(url) like '%/sdwan/nitro/v1/config/get\\_package\\_file') and (lower(split_part(url, '?', 2)) like '%=file\\_download%' and lower(split_part(url, '?', 2)) like '%action=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2019-18935",
  "CVE-2019-18935",
  "(((http_method = 'POST') and (lower(url) like '%/telerik.web.ui.webresource.axd') and (lower(split_part(url, '?', 2)) like '%=rau%' and lower(split_part(url, '?', 2)) like '%type=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2019-9762",
  "CVE-2019-9762",
  "(((lower(url) like '%/include/plugin/payment/alipay/pay.php%') and (split_part(decoded_url, '?', 2) ~ '[^a-z0-9]' and split_part(decoded_url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-11738",
  "CVE-2020-11738",
  "(((lower(url) like '%/wp-admin/admin-ajax.php') and (split_part(url, '?', 2) like '%=duplicator\\_download%' and split_part(url, '?', 2) like '%action=%') and (split_part(url, '?', 2) like '%..%' and split_part(url, '?', 2) like '%file=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-17496",
  "CVE-2020-17496",
  "(((lower(url) like '%/ajax/render/widget\\_tabbedcontainer\\_tab\\_panel') and (http_method = 'POST')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-25078",
  "CVE-2020-25078",
  "(((decoded_url like '%/config/getuser%') and (split_part(decoded_url, '?', 2) ~ '^[0-9]+$' and split_part(decoded_url, '?', 2) like '%index=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-5902",
  "CVE-2020-5902",
  "(((http_method = 'GET') and (decoded_url like '%/tmui/login.jsp/..;/tmui/%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-8656",
  "CVE-2020-8656",
  "(((lower(url) like '%/eonapi/getapikey%') and (split_part(decoded_url, '?', 2) like '%''%' and split_part(decoded_url, '?', 2) like '%username=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2020-9054",
  "CVE-2020-9054",
  "(((lower(url) like '%/cgi-bin/weblogin.cgi%') and (lower(split_part(url, '?', 2)) like '%''%' and lower(split_part(url, '?', 2)) like '%username=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-22941",
  "CVE-2021-22941",
  "(((http_method = 'POST') and (lower(url) like '%/upload.aspx') and (split_part(url, '?', 2) like '%..%' and split_part(url, '?', 2) like '%uploadid=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-26072",
  "CVE-2021-26072",
  "(((decoded_url like '%/rest/sharelinks/1.0/link%') and (split_part(decoded_url, '?', 2) like '%http%' and split_part(decoded_url, '?', 2) like '%url=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-26086",
  "CVE-2021-26086",
  "(((lower(url) like '%/;/web-inf/%') or (lower(url) like '%/;/meta-inf/%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-26294",
  "CVE-2021-26294",
  "(((decoded_url like '%/dav/server.php/files/personal/%') and (decoded_url like '%..%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-32478",
  "CVE-2021-32478",
  "(((lower(url) like '%/mod/lti/auth.php%') and (split_part(decoded_url, '?', 2) like '%javascript:%' and split_part(decoded_url, '?', 2) like '%redirect\\_uri=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-34427",
  "CVE-2021-34427",
  "(((decoded_url like '%/document%') and (split_part(decoded_url, '?', 2) like '%.jsp/.%' and split_part(decoded_url, '?', 2) like '%\\_\\_document=%') and (split_part(decoded_url, '?', 2) like '%<\\%%' and split_part(decoded_url, '?', 2) like '%sample=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2021-43798",
  "CVE-2021-43798",
  "(((lower(url) like '%/public/plugins/%') and (lower(url) like '%../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-22954",
  "CVE-2022-22954",
  "(((lower(url) like '%/catalog-portal/ui/oauth/verify%') and (lower(split_part(url, '?', 2)) like '%${%' and lower(split_part(url, '?', 2)) like '%deviceudid=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-24086",
  "CVE-2022-24086",
  "(((lower(url) like '%/rest/default/v1/guest-carts/%') and (lower(url) like '%/shipping-information%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-25488",
  "CVE-2022-25488",
  "(((lower(url) like '%/admin/ajax/avatar.php%') and (lower(split_part(url, '?', 2)) ~ '[^0-9-]' and lower(split_part(url, '?', 2)) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-26134",
  "CVE-2022-26134",
  "(((http_method = 'GET') and (decoded_url like '/${%') and (decoded_url like '%@java.lang.runtime%') and (decoded_url like '%@org.apache.commons.io.ioutils%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-27926",
  "CVE-2022-27926",
  "(((lower(url) like '%/public/error.jsp') and (split_part(decoded_url, '?', 2) ~ '(<\\s*/?\\s*(script|iframe|object|embed|applet|svg|math|style|link|meta|base|form|body|img|video|audio|details|marquee|frameset|isindex)[^a-z0-9_])|((javascript|vbscript|livescript)\\s*:)|(on(error|load|mouseover|mouseenter|mouseout|focus|blur|click|dblclick|toggle|animationstart|begin|pageshow|submit|keyup|keydown|input|change)\\s*=)|(data\\s*:\\s*text/html)|((expression|url)\\s*\\(\\s*[''\"]?\\s*(javascript|vbscript|data):)|((document\\.(cookie|domain|location|write)|window\\.location|string\\.fromcharcode|(alert|prompt|confirm)\\s*(\\(|`)))' and lower(split_part(url, '?', 2)) like '%errcode=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-31499",
  "CVE-2022-31499",
  "(((lower(url) like '%/card\\_scan.php%') and (split_part(decoded_url, '?', 2) like '%`%' and split_part(decoded_url, '?', 2) like '%readerno=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-3254",
  "CVE-2022-3254",
  "(((decoded_url like '%/wp-admin/admin-ajax.php%') and (split_part(decoded_url, '?', 2) ~ '[^a-z0-9]' and split_part(decoded_url, '?', 2) like '%parent=%') and (split_part(decoded_url, '?', 2) like '%=awpcp-get-regions-options%' and split_part(decoded_url, '?', 2) like '%action=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-35914",
  "CVE-2022-35914",
  "(((lower(url) like '%/vendor/htmlawed/htmlawed/htmlawedtest.php')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-38627",
  "CVE-2022-38627",
  "(((decoded_url like '%/badging/badge\\_template\\_print.php%') and (split_part(url, '?', 2) ~ '[^0-9]' and split_part(url, '?', 2) like '%idt=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-41082",
  "CVE-2022-41082",
  "(((http_method = 'GET') and (lower(url) like '%/autodiscover/autodiscover.json') and (lower(url) like '%powershell%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-44877",
  "CVE-2022-44877",
  "(((lower(url) like '%/login/index.php') and (split_part(url, '?', 2) ~ '[^a-zA-Z0-9_.-]+' and split_part(url, '?', 2) like '%login=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2022-46169",
  "CVE-2022-46169",
  "(((lower(url) like '%/remote\\_agent.php') and (split_part(url, '?', 2) ~ '[^a-zA-Z0-9_]' and split_part(url, '?', 2) like '%poller\\_id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-0600",
  "CVE-2023-0600",
  "(((http_method = 'GET') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and split_part(url, '?', 2) like '%visitorid=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-0900",
  "CVE-2023-0900",
  "(((http_method = 'POST') and (lower(url) like '%/wp-admin/admin-ajax.php%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-1389",
  "CVE-2023-1389",
  "(((lower(url) like '%/cgi-bin/luci/;stok=/locale') and (split_part(url, '?', 2) like '%=country%' and split_part(url, '?', 2) like '%form=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-2009",
  "CVE-2023-2009",
  "(((http_method = 'POST') and (lower(url) like '%/wp-admin/admin.php%') and (lower(split_part(url, '?', 2)) like '%=prettyurls%' and lower(split_part(url, '?', 2)) like '%page=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-20198",
  "CVE-2023-20198",
  "(((lower(url) like '%/\\%77ebui\\_wsma\\_https') and (http_method = 'POST')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-22515",
  "CVE-2023-22515",
  "(((lower(url) like '%/setup/setupadministrator.action') and (http_method = 'POST')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-22527",
  "CVE-2023-22527",
  "(((http_method = 'POST') and (lower(url) = '/template/aui/text-inline.vm')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-23063",
  "CVE-2023-23063",
  "(((lower(url) like '%/cgi-bin/getfilecontent.cgi%') and (split_part(decoded_url, '?', 2) ~ '^(/|\\.\\./)' and split_part(decoded_url, '?', 2) like '%path=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-23488",
  "CVE-2023-23488",
  "(((http_method = 'GET') and (lower(split_part(url, '?', 2)) like '%/pmpro/v1/order%' and lower(split_part(url, '?', 2)) like '%rest\\_route=%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and lower(split_part(url, '?', 2)) like '%code=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-23489",
  "CVE-2023-23489",
  "(((http_method = 'GET') and (lower(url) = '/wp-admin/admin-ajax.php') and (lower(split_part(url, '?', 2)) like '%=edd\\_download\\_search%' and lower(split_part(url, '?', 2)) like '%action=%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and split_part(url, '?', 2) like '%s=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-23752",
  "CVE-2023-23752",
  "(((lower(url) ~ '(/config/application|/users)$') and (lower(split_part(url, '?', 2)) like '%=true%' and lower(split_part(url, '?', 2)) like '%public=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-24000",
  "CVE-2023-24000",
  "(((decoded_url like '%/wp-json/wp/v2/gamipress-logs%') and (split_part(decoded_url, '?', 2) ~ '[^a-z0-9_-]' and split_part(decoded_url, '?', 2) like '%trigger\\_type[]=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-24489",
  "CVE-2023-24489",
  "(((lower(url) like '%/documentum/upload.aspx') and (http_method = 'POST') and (split_part(url, '?', 2) like '%..%' and split_part(url, '?', 2) like '%uploadid=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-3197",
  "CVE-2023-3197",
  "(((decoded_url like '%/wp-json/api/flutter\\_multi\\_vendor/product-categories%') and (split_part(decoded_url, '?', 2) ~ '[^a-z0-9]' and split_part(decoded_url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-33617",
  "CVE-2023-33617",
  "(((lower(http_method) = 'post') and (lower(url) like '%/boaform/admin/formlogin')) or ((http_method = 'POST') and (lower(url) like '%/boaform/admin/formping')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-34362",
  "CVE-2023-34362",
  "(((lower(url) = '/moveitisapi/moveitisapi.dll') and (lower(split_part(url, '?', 2)) like '%=m2%' and lower(split_part(url, '?', 2)) like '%action=%') and (http_method = 'POST')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-35078",
  "CVE-2023-35078",
  "((lower(url) like '%/mifs/aad/api/v2/%'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-35082",
  "CVE-2023-35082",
  "((lower(url) like '%/mifs/asfv3/api/v2/%'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-38205",
  "CVE-2023-38205",
  "(((lower(url) like '%..cfide/wizards/common/%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-42793",
  "CVE-2023-42793",
  "((lower(url) like '%/rpc2'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-4634",
  "CVE-2023-4634",
  "(((lower(url) like '%/wp-content/plugins/media-library-assistant/includes/mla-stream-image.php') and (split_part(url, '?', 2) ~ '.*://.*' and split_part(url, '?', 2) like '%mla\\_stream\\_file=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-46805",
  "CVE-2023-46805",
  "(((lower(url) like '%/api/v1/totp/user-backup-code/../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-47218",
  "CVE-2023-47218",
  "(((http_method = 'POST') and (lower(url) like '%/cgi-bin/quick/quick.cgi') and (lower(split_part(url, '?', 2)) like '%=switch\\_os%' and lower(split_part(url, '?', 2)) like '%func=%') and (lower(split_part(url, '?', 2)) like '%=uploaf\\_firmware\\_image%' and lower(split_part(url, '?', 2)) like '%todo=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-49070",
  "CVE-2023-49070",
  "(((lower(url) like '%/webtools/control/xmlrpc;/') and (http_method = 'POST') and (lower(split_part(url, '?', 2)) = 'username') and (lower(split_part(url, '?', 2)) = 'password') and (lower(split_part(url, '?', 2)) = 'requirepasswordchange')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-6360",
  "CVE-2023-6360",
  "(((http_method = 'GET') and (split_part(url, '?', 2) like '%my-calendar/v1/events%' and split_part(url, '?', 2) like '%rest\\_route=%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and split_part(url, '?', 2) like '%from=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-6567",
  "CVE-2023-6567",
  "(((http_method = 'GET') and (lower(url) like '%/wp-json/lp/v1/courses/archive-course%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and lower(split_part(url, '?', 2)) like '%order\\_by=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2023-6623",
  "CVE-2023-6623",
  "(((http_method = 'GET') and (lower(url) = '/index.php') and (lower(split_part(url, '?', 2)) like '%essential-blocks%' and lower(split_part(url, '?', 2)) like '%rest\\_route=%') and (lower(split_part(url, '?', 2)) like '%\\_\\_file%' and lower(split_part(url, '?', 2)) like '%attributes=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-0204",
  "CVE-2024-0204",
  "(((decoded_url like '%/goanywhere/images/..;%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-1061",
  "CVE-2024-1061",
  "(((http_method = 'GET') and (split_part(url, '?', 2) like '%/h5vp/v1/view%' and split_part(url, '?', 2) like '%rest\\_route=%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and split_part(url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-1071",
  "CVE-2024-1071",
  "(((http_method = 'POST') and (lower(url) like '%/wp-admin/admin-ajax.php%') and (lower(split_part(url, '?', 2)) like '%=um\\_get\\_members%' and lower(split_part(url, '?', 2)) like '%action=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-23897",
  "CVE-2024-23897",
  "(((http_method = 'POST') and (url like '%/cli')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27198",
  "CVE-2024-27198",
  "(((lower(url) like '%;.jsp%') and (lower(url) like '%/app/rest/%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27292",
  "CVE-2024-27292",
  "(((lower(url) like '%/interview%') and (lower(split_part(url, '?', 2)) like '/%' and lower(split_part(url, '?', 2)) like '%i=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27348",
  "CVE-2024-27348",
  "(((http_method = 'POST') and (lower(url) like '%/gremlin')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27564",
  "CVE-2024-27564",
  "(((lower(url) like '%/pictureproxy.php%') and (lower(split_part(url, '?', 2)) ~ '^(http|https|file)://' and lower(split_part(url, '?', 2)) like '%url=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27954",
  "CVE-2024-27954",
  "(((http_method = 'GET') and (lower(split_part(url, '?', 2)) like '%=download%' and lower(split_part(url, '?', 2)) like '%wp\\_automatic=%') and (lower(split_part(url, '?', 2)) like 'file://%' and lower(split_part(url, '?', 2)) like '%link=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-27956",
  "CVE-2024-27956",
  "(((http_method = 'POST') and (lower(url) like '%/wp-content/plugins/wp-automatic/inc/csv.php')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-28255",
  "CVE-2024-28255",
  "(((http_method = 'GET') and (decoded_url like '%/api/v1;v1/users/login/events/subscriptions/validation/condition%') and (lower(url) like '%java.lang.runtime%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-29028",
  "CVE-2024-29028",
  "(((lower(url) like '%/o/get/httpmeta%') and (split_part(decoded_url, '?', 2) like 'http%' and split_part(decoded_url, '?', 2) like '%url=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-29824",
  "CVE-2024-29824",
  "(((http_method = 'POST') and (lower(url) like '%/wsstatusevents/eventhandler.asmx')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-32113",
  "CVE-2024-32113",
  "(((http_method = 'POST') and (lower(url) = '/webtools/control/forgotpassword;/programexport')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-3272",
  "CVE-2024-3272",
  "(((http_method = 'GET') and (lower(url) like '%/cgi-bin/nas\\_sharing.cgi') and (lower(split_part(url, '?', 2)) like '%=15%' and lower(split_part(url, '?', 2)) like '%cmd=%') and (split_part(url, '?', 2) = 'system')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-3273",
  "CVE-2024-3273",
  "(((lower(url) like '%cgi-bin/nas\\_sharing.cgi') and (http_method = 'GET') and (lower(split_part(url, '?', 2)) like '%system%') and (lower(split_part(url, '?', 2)) like '%messagebus%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-32870",
  "CVE-2024-32870",
  "(((decoded_url like '%/pages/exec.php%') and (split_part(decoded_url, '?', 2) like '%=itop-hub-connector%' and split_part(decoded_url, '?', 2) like '%exec\\_module=%') and (split_part(decoded_url, '?', 2) like '%=launch.php%' and split_part(decoded_url, '?', 2) like '%exec\\_page=%') and (split_part(decoded_url, '?', 2) like '%=inform\\_after\\_setup%' and split_part(decoded_url, '?', 2) like '%target=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-3408",
  "CVE-2024-3408",
  "(((lower(url) like '%/dtale/test-filter/%') and (split_part(decoded_url, '?', 2) like '%\\_\\_import\\_\\_(%' and split_part(decoded_url, '?', 2) like '%query=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-34102",
  "CVE-2024-34102",
  "(((http_method = 'POST') and (lower(url) like '%/rest/v1/guest-carts/1/estimate-shipping-methods%')) or ((lower(http_method) = 'post') and (lower(url) like '%/rest/v1/guest-carts/1/estimate-shipping-methods%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-38816",
  "CVE-2024-38816",
  "(((http_method = 'GET') and (decoded_url like '%/static/link/../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-41713",
  "CVE-2024-41713",
  "(((decoded_url like '%/npm-pwg/..;%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-4577",
  "CVE-2024-4577",
  "(((lower(url) like '%?\\%ad%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-5057",
  "CVE-2024-5057",
  "(((decoded_url like '%/wp-admin/admin-ajax.php%') and (split_part(decoded_url, '?', 2) like '%=edd\\_download\\_search%' and split_part(decoded_url, '?', 2) like '%action=%') and (split_part(decoded_url, '?', 2) like '%''%' and split_part(decoded_url, '?', 2) like '%s=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-51378",
  "CVE-2024-51378",
  "(((http_method = 'POST') and (lower(url) ~ '/(dns|ftp)/getresetstatus')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-51482",
  "CVE-2024-51482",
  "(((decoded_url like '%/zm/index.php%') and (split_part(decoded_url, '?', 2) ~ '[^0-9]' and split_part(decoded_url, '?', 2) like '%tid=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-51567",
  "CVE-2024-51567",
  "(((lower(url) = '/databases/upgrademysqlstatus') and (http_method = 'PUT')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-51977",
  "CVE-2024-51977",
  "((decoded_url = '/etc/mnt_info.csv'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-52301",
  "CVE-2024-52301",
  "(((split_part(url, '?', 2) like '%--env')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-57727",
  "CVE-2024-57727",
  "(((lower(url) like '%/toolbox-resource/../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-6205",
  "CVE-2024-6205",
  "(((lower(split_part(url, '?', 2)) like '%payplus\\_gateway%' and lower(split_part(url, '?', 2)) like '%wc-api=%') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and lower(split_part(url, '?', 2)) like '%more\\_info=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-7593",
  "CVE-2024-7593",
  "(((http_method = 'POST') and (lower(url) like '%/apps/zxtm/wizard.fcgi') and (split_part(decoded_url, '?', 2) like '%=access management:localusers%' and split_part(decoded_url, '?', 2) like '%section=%') and (lower(split_part(url, '?', 2)) like '%=1%' and lower(split_part(url, '?', 2)) like '%error=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-8181",
  "CVE-2024-8181",
  "(((decoded_url like '%/api/v1/apikey?/api/v1/ping%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-8190",
  "CVE-2024-8190",
  "(((http_method = 'POST') and (lower(url) like '%/gsb/datetime.php')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-8963",
  "CVE-2024-8963",
  "(((http_method = 'GET') and (decoded_url like '%index.php?.php/%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-9465",
  "CVE-2024-9465",
  "(((http_method = 'POST') and (decoded_url like '%/bin/configurations/parsers/checkpoint/checkpoint.php%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2024-9474",
  "CVE-2024-9474",
  "(((http_method = 'POST') and (lower(url) like '%/php/utils/createremoteappwebsession.php/%') and (lower(url) like '%.js.map')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-13315",
  "CVE-2025-13315",
  "((lower(url) = '/nmc/rpc/log_getfile'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-13956",
  "CVE-2025-13956",
  "((decoded_url like '%/wp-json/lp/v1/orders/statistic%'))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-24582",
  "CVE-2025-24582",
  "(((decoded_url like '%/wp-admin/admin-ajax.php%') and (split_part(decoded_url, '?', 2) ~ '^tsml_(info|geocodes)$' and split_part(decoded_url, '?', 2) like '%action=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-24893",
  "CVE-2025-24893",
  "(((lower(url) like '%/bin/get/main/solrsearch%') and (lower(split_part(url, '?', 2)) like '%execute(%' and lower(split_part(url, '?', 2)) like '%text=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-25257",
  "CVE-2025-25257",
  "(((http_method = 'GET') and (lower(url) ~ '/api/(fabric/device/status|v[0-9]/fabric/widget)')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-27222",
  "CVE-2025-27222",
  "(((lower(url) like '%/trufusionportal/getcobrandingdata%') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%cobrandingimagename=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-28367",
  "CVE-2025-28367",
  "(((decoded_url like '%/api/betterimagegallery/imagehandler%') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%path=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-29306",
  "CVE-2025-29306",
  "(((lower(url) like '%/images/index.html%') and (split_part(decoded_url, '?', 2) like '%${%' and split_part(decoded_url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-31161",
  "CVE-2025-31161",
  "(((lower(url) like '%/webinterface/function/%') and (lower(split_part(url, '?', 2)) like '%=getuserlist%' and lower(split_part(url, '?', 2)) like '%command=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-31324",
  "CVE-2025-31324",
  "(((lower(url) = '/developmentserver/metadatauploader') and (lower(split_part(url, '?', 2)) like '%=model%' and lower(split_part(url, '?', 2)) like '%contenttype=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-36604",
  "CVE-2025-36604",
  "(((decoded_url like '%/misc/%') and (decoded_url ~ '[`|;$]')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-4689",
  "CVE-2025-4689",
  "(((decoded_url like '%/wp-admin/admin-ajax.php%') and (split_part(decoded_url, '?', 2) like '%bsa\\_pro%' and split_part(decoded_url, '?', 2) like '%action=%') and (split_part(decoded_url, '?', 2) ~ '[^0-9]' and split_part(decoded_url, '?', 2) like '%a\\_id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-47188",
  "CVE-2025-47188",
  "(((lower(url) like '%/cgi-bin/webconfig%') and (lower(split_part(url, '?', 2)) like '%=upload\\_ringtone%' and lower(split_part(url, '?', 2)) like '%page=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-49113",
  "CVE-2025-49113",
  "(((http_method = 'POST') and (split_part(decoded_url, '?', 2) like '%=settings%' and split_part(decoded_url, '?', 2) like '%\\_task=%') and (split_part(decoded_url, '?', 2) like '%=upload%' and split_part(decoded_url, '?', 2) like '%\\_action=%') and (split_part(decoded_url, '?', 2) ~ '[^\\w.-]' and split_part(decoded_url, '?', 2) like '%\\_from=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-49132",
  "CVE-2025-49132",
  "(((decoded_url like '%/locales/locale.json%') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%locale=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-55748",
  "CVE-2025-55748",
  "(((decoded_url ~ '/bin/(ssx|jsx)/') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%resource=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-55749",
  "CVE-2025-55749",
  "(((decoded_url like '%/webapps/xwiki/web-inf/xwiki.properties%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-56520",
  "CVE-2025-56520",
  "(((decoded_url like '%/console/api/remote-files/http%') and (decoded_url like '%://%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-57819",
  "CVE-2025-57819",
  "(((decoded_url like '%/admin/ajax.php%') and (split_part(decoded_url, '?', 2) like '%freepbx\\\\modules\\\\endpoint\\\\ajax%' and split_part(decoded_url, '?', 2) like '%module=%') and (split_part(decoded_url, '?', 2) like '%''%' and split_part(decoded_url, '?', 2) like '%brand=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-61678",
  "CVE-2025-61678",
  "(((decoded_url like '%/admin/config.php%') and (split_part(decoded_url, '?', 2) like '%..%' and split_part(decoded_url, '?', 2) like '%fwbrand=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-61882",
  "CVE-2025-61882",
  "(((decoded_url like '%/oa\\_html/help/../ieshostedsurvey.jsp%')) or ((decoded_url like '%/oa\\_html/configurator/uiservlet%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-66039",
  "CVE-2025-66039",
  "(((decoded_url like '%/admin/config.php%') and (split_part(decoded_url, '?', 2) ~ '[^0-9]' and split_part(decoded_url, '?', 2) like '%id=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2025-8110",
  "CVE-2025-8110",
  "(((lower(url) like '%/api/v1/repos/%') and (lower(url) like '%/contents/%') and (decoded_url like '%../%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-1207",
  "CVE-2026-1207",
  "(((decoded_url ~ '^/(api/raster/search/)?$') and (split_part(decoded_url, '?', 2) ~ '(''\\s*(or|and|xor|\\|\\||&&)\\s*(''|\"|[0-9]|true|false|null|not\\s|\\())|((or|and)\\s+[0-9]+\\s*(=|<|>|like)\\s*[0-9]+)|(''\\s*(--|#|/\\*|;))|(union(\\s|/\\*[^*]*\\*/|\\+)+(all(\\s|/\\*[^*]*\\*/|\\+)+|distinct(\\s|/\\*[^*]*\\*/|\\+)+)?select)|(;\\s*(drop|select|insert|update|delete|exec|execute|declare|create|alter|truncate|shutdown)\\s)|((sleep|benchmark|pg_sleep)\\s*\\()|(waitfor\\s+(delay|time)\\s+'')|((extractvalue|updatexml|load_file|group_concat|concat_ws)\\s*\\()|((information_schema|@@version|@@datadir|sysobjects|pg_catalog|sqlite_master|xp_cmdshell))|(into\\s+(out|dump)file)|(/\\*!?[0-9]*\\s*(select|union|and|or)[^a-z])|((char|chr|ascii|substring|substr|hex|unhex|cast|convert)\\s*\\(\\s*([0-9]|select|@@|0x))' and split_part(decoded_url, '?', 2) like '%band=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-1281",
  "CVE-2026-1281",
  "(((decoded_url like '%/mifs/c/appstore/fob/%') and (decoded_url like '%`%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-1557",
  "CVE-2026-1557",
  "(((decoded_url like '%/wp-content/plugins/wp-responsive-images/image\\_handler.php%') and (split_part(decoded_url, '?', 2) like '%../%' and split_part(decoded_url, '?', 2) like '%src=%')))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-26980",
  "CVE-2026-26980",
  "(((decoded_url like '%/ghost/api/content/%') and (split_part(decoded_url, '?', 2) like '%key%') and ((split_part(decoded_url, '?', 2) like '%||%' and split_part(decoded_url, '?', 2) like '%filter=%') or (split_part(decoded_url, '?', 2) like '%&&%' and split_part(decoded_url, '?', 2) like '%filter=%'))))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-63030",
  "CVE-2026-63030",
  "((((decoded_url like '%batch/v1%')) or ((decoded_url like '%batch/v1%'))))"
 ],
 [
  "crowdsecurity/vpatch-CVE-2026-9082",
  "CVE-2026-9082",
  "(((decoded_url like '%/jsonapi/%') and ((split_part(decoded_url, '?', 2) like '%||%') or (split_part(decoded_url, '?', 2) like '%`%'))))"
 ],
 [
  "crowdsecurity/vpatch-connectwise-auth-bypass",
  "CVE-2024-1709",
  "((lower(url) like '%/setupwizard.aspx/'))"
 ],
 [
  "crowdsecurity/vpatch-env-access",
  "",
  "((lower(url) like '%.env'))"
 ],
 [
  "crowdsecurity/vpatch-git-config",
  "",
  "((lower(url) ~ '/\\.git/(config|head|index|refs|hooks|)$|/\\.svn/(wc\\.db|entries|format|)$|/\\.hg/(hgrc|)$'))"
 ],
 [
  "crowdsecurity/vpatch-symfony-profiler",
  "",
  "((lower(url) like '%/\\_profiler/phpinfo%') or (lower(url) like '%/\\_profiler/open%'))"
 ],
 [
  "ltsich/http-w00tw00t",
  "",
  "(regexp_replace(split_part(url, '?', 1), '^.*/', '') like '%w00tw00t.at.ISC.SANS.DFind%' or lower(url) = '/core/skin/login.aspx')"
 ]
]) }}
{%- endmacro %}

{#- CrowdSec hub leaky buckets (the same seed, kind bucket): [name, SQL condition, distinct SQL or '',
    capacity, leak seconds]. -#}
{% macro hub_buckets() -%}
{{ return([
 [
  "LePresidente/http-generic-401-bf",
  "(http_method = 'POST' and cast(status_code as varchar) = '401')",
  "",
  5,
  10.0
 ],
 [
  "LePresidente/http-generic-403-bf",
  "(http_method = 'POST' and cast(status_code as varchar) = '403')",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/CVE-2022-41697",
  "(upper(url) like '%/GHOST/API/ADMIN/SESSION%' and upper(http_method) = 'POST' and cast(status_code as varchar) = '404')",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/CVE-2022-46169-bf",
  "(upper(url) like '%/REMOTE\\_AGENT.PHP%' and upper(http_method) = 'GET' and lower(split_part(url, '?', 2)) like '%host\\_id%' and lower(split_part(url, '?', 2)) like '%local\\_data\\_ids%')",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/CVE-2024-38475",
  "(cast(status_code as varchar) in ('404', '403') and lower(url) like '%\\%3f')",
  "url",
  3,
  10.0
 ],
 [
  "crowdsecurity/http-apiscp-bf",
  "(url like '/apps/login%' and http_method = 'POST' and cast(status_code as varchar) = '200')",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-bf-wordpress_bf",
  "(regexp_replace(split_part(url, '?', 1), '^.*/', '') = 'wp-login.php' and http_method = 'POST' and cast(status_code as varchar) = '200')",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-bf-wordpress_bf_xmlrpc",
  "(regexp_replace(split_part(url, '?', 1), '^.*/', '') = 'xmlrpc.php' and http_method = 'POST')",
  "",
  5,
  120.0
 ],
 [
  "crowdsecurity/http-wordpress-scan",
  "(cast(status_code as varchar) in ('404', '403') and lower(url) ~ '(?i)(/wp-.*\\.php|/wp-content/plugins/.*\\.(txt|md))$')",
  "url",
  3,
  10.0
 ],
 [
  "crowdsecurity/http-wordpress_user-enum",
  "upper(split_part(url, '?', 2)) like '%AUTHOR=%'",
  "split_part(url, '?', 2)",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-wordpress_wpconfig",
  "regexp_replace(split_part(url, '?', 1), '^.*/', '') like '%wp-config.php%'",
  "regexp_replace(split_part(url, '?', 1), '^.*/', '')",
  5,
  10.0
 ]
]) }}
{%- endmacro %}

{#- The CrowdSec keyword list a family also matches on the raw URL, if any. -#}
{% macro family_keyword_list(name) -%}
{{ return({"sqli": "sqli_patterns", "xss": "xss_patterns", "path_traversal": "path_traversal"}.get(name)) }}
{%- endmacro %}
