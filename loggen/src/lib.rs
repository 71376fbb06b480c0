//! A deterministic generator of synthetic web-server access logs, for tests and benchmarks.
//!
//! [`write_access_log`] writes Apache/nginx *combined* format lines such as
//!
//! ```text
//! 89.196.23.158 - - [10/Mar/2024:00:00:00 +0000] "GET /api/v1/users/1872 HTTP/1.1" 200 1844 "https://www.example.com/robots.txt" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
//! ```
//!
//! Fields are counted the way awk splits a line (runs of blanks), starting at 1.
//! Tests and benchmarks rely on these properties:
//!
//! - Field 7 (`$7`) is always the request target: a path, with a `?query` for about 15% of the
//!   pool (about 10% of the requests with the default spec, since the most popular targets,
//!   `/`, `/favicon.ico`, `/robots.txt` and the like, have none). The pool holds exactly
//!   [`LogSpec::keys`] distinct targets, ranked by popularity: a request draws rank `r` with
//!   weight `1 / r^zipf`, except that a share [`LogSpec::uniform`] of the requests draws a
//!   target uniformly from the whole pool (the long tail). So the number of distinct `$7`
//!   values is at most `keys`.
//! - The first match of the regex `"[A-Z]+ (\S+)` on every line is the request line, and its
//!   capture equals `$7`: nothing before the request contains a `"`, and no referer or user
//!   agent contains a `"` followed by capital letters and a space.
//! - Field 8 is the protocol followed by the closing quote (`HTTP/1.1"`).
//! - Field 9 is the status: mostly 200, also 304, 404, 301, 302, 403, 401, 500, 502, 206, 201.
//! - Field 10 is the size of the response body: a decimal integer, or `-` exactly when the
//!   status is 304 (as Apache writes it).
//! - Every line has at least 12 fields: most user agents contain spaces and parentheses; none
//!   is empty (a client without one sends `-`); referers contain no blanks and about a
//!   third of them are `-`.
//! - Timestamps start at `10/Mar/2024:00:00:00 +0000` and never go backwards (on average 40
//!   lines per second); the offset is always `+0000`, so local time is UTC. Most clients have
//!   IPv4 addresses, a few (about 3%) IPv6 ones; each client keeps one user agent.
//! - The output is ASCII; lines end with `\n`, and contain no tab.
//! - The same [`LogSpec`] gives byte-identical output on every platform. The generator uses its
//!   own pseudo-random generator (`xoshiro256**` seeded by `splitmix64`), iterates no hash map,
//!   formats no floating-point number, and computes the Zipf weights with its own logarithm
//!   and exponential built from IEEE-754 basic operations (`+ - * /`, which round the same
//!   everywhere, unlike the platform's `powf`).
//!
//! # Other formats
//!
//! [`LogSpec::format`] and [`LogSpec::time`] write the same requests in other shapes. Every
//! format draws the same random numbers in the same order, so a spec that differs only in
//! these two members describes the same requests line by line: the same clients, targets,
//! statuses, sizes, referers and seconds. A count over one format equals the matching count
//! over another (`$7` of the combined log, `.request.uri` of the JSON one, `path=` of logfmt).
//!
//! - [`TimeFormat::Rfc3339`] in the combined format replaces the bracketed
//!   `[10/Mar/2024:00:00:00 +0000]`, two fields, by one, `2024-03-10T00:00:00+00:00` (nginx's
//!   `$time_iso8601`), and leaves the rest of the line as it was: the time is field 4 and
//!   every later field moves one place to the left (`$6` is the target, `$8` the status).
//! - [`Format::Json`]: one object per line in the shape of nginx's `log_format ... escape=json`:
//!
//!   ```text
//!   {"time":"2024-03-10T00:00:00+00:00","remote_addr":"89.196.23.158","remote_user":"","request":{"method":"GET","uri":"/api/v1/users/1872","protocol":"HTTP/1.1"},"status":200,"body_bytes_sent":1844,"request_time":0.004,"http_referer":"https://www.example.com/robots.txt","http_user_agent":"curl/8.5.0"}
//!   ```
//!
//!   `status`, `body_bytes_sent` and `request_time` (seconds, three decimals) are numbers; an
//!   absent user, referer or user agent is `""` and a 304's size `0`, as nginx writes them.
//!   The members always come in this order and the output has no blank outside strings.
//! - [`Format::Logfmt`]: `key=value` pairs, quoted as Go's logfmt encoder quotes them (a value
//!   with a blank, `=` or `"`; `\"` and `\\` inside quotes; nothing after `=` when empty):
//!
//!   ```text
//!   time=2024-03-10T00:00:00+00:00 ip=89.196.23.158 method=GET path=/api/v1/users/1872 proto=HTTP/1.1 status=200 bytes=1844 duration=0.004 referer=https://www.example.com/robots.txt ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
//!   ```
//!
//! In both, a few clients (every 40th, about 1% of the requests) send a user agent with a `"`,
//! a `\` or an accented letter, so that the escapes of real logs appear: `\"`, `\\` and
//! `\u00e9` in JSON (non-ASCII characters are written as `\u` escapes, as JSON writers that
//! keep to ASCII do, so the JSON output stays ASCII), `\"` and `\\` and the raw UTF-8 bytes in
//! logfmt. The combined format keeps its plain user agents, so that its properties above hold.
//! The request time comes from a random stream of its own, which leaves the requests alone.
//!
//! The output is produced in 64 KiB blocks without allocating per line: millions of lines per
//! second on one core. Building the pool is linear in `keys`, so a million keys is fine.

use std::io::{self, Write};

mod render;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSpec {
    /// Number of lines to write.
    pub lines: u64,
    /// Seed of the pseudo-random generator: the same spec always gives the same bytes.
    pub seed: u64,
    /// Number of distinct request targets (`$7`) in the pool; at least 1.
    pub keys: usize,
    /// Zipf exponent `s`: the target of popularity rank `r` is drawn with weight `1 / r^s`.
    /// Finite and non-negative; 0 makes every target equally likely.
    pub zipf: f64,
    /// Share of requests, in `[0, 1]`, that draw a target uniformly from the whole pool instead
    /// of by rank. A large value (about 0.6) makes nearly every key of a big pool appear.
    pub uniform: f64,
    /// The shape of each line.
    pub format: Format,
    /// How times are written; `None` is the format's usual one: [`TimeFormat::Clf`] for the
    /// combined format, [`TimeFormat::Rfc3339`] for JSON and logfmt.
    pub time: Option<TimeFormat>,
}

impl Default for LogSpec {
    fn default() -> Self {
        LogSpec {
            lines: 1000,
            seed: 1,
            keys: 10_000,
            zipf: 1.0,
            uniform: 0.05,
            format: Format::Combined,
            time: None,
        }
    }
}

impl LogSpec {
    /// The time format lines are written with: [`LogSpec::time`], or the format's usual one.
    pub fn time_format(&self) -> TimeFormat {
        self.time.unwrap_or(match self.format {
            Format::Combined => TimeFormat::Clf,
            Format::Json | Format::Logfmt => TimeFormat::Rfc3339,
        })
    }
}

/// The shape of the lines; see the crate documentation for each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Apache/nginx combined format.
    #[default]
    Combined,
    /// JSON lines shaped like nginx's `log_format ... escape=json`.
    Json,
    /// logfmt `key=value` pairs.
    Logfmt,
}

/// How the time of a request is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// `10/Mar/2024:00:00:00 +0000`, as Apache and nginx's `$time_local` write it; bracketed in
    /// the combined format.
    #[default]
    Clf,
    /// RFC 3339 with a numeric offset, `2024-03-10T00:00:00+00:00`, as nginx's `$time_iso8601`.
    Rfc3339,
}

/// Writes `spec.lines` access-log lines to `out`, then flushes it.
///
/// The output is written in blocks of 64 KiB, so `out` needs no buffering of its own.
/// Returns an `InvalidInput` error, before writing anything, if `keys` is 0, `zipf` is negative
/// or not finite, or `uniform` is outside `[0, 1]`.
pub fn write_access_log<W: Write>(spec: &LogSpec, mut out: W) -> io::Result<()> {
    validate(spec)?;
    let mut rng = Rng::new(spec.seed);
    let targets = Targets::build(&mut rng, spec.keys);
    let clients = Clients::build(&mut rng);
    let target_ranks = Cumulative::zipf(spec.keys, spec.zipf);
    let referers = Referers::new(&targets);
    let mut clock = Clock::start();
    let mut writer = render::LineWriter::new(spec, &targets, &clients);

    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    for _ in 0..spec.lines {
        // Every draw of a line comes before it is written, in the same order whatever the
        // format, so that all formats describe the same requests.
        if rng.below(LINES_PER_SECOND) == 0 {
            clock.tick();
        }
        let client = clients.sample(&mut rng);
        let target = if rng.unit() < spec.uniform {
            rng.below(spec.keys as u64) as usize
        } else {
            target_ranks.sample(&mut rng)
        };
        let method = METHODS[weighted(&mut rng, &METHOD_WEIGHTS)];
        let method = if targets.writable[target] || method == "GET" || method == "HEAD" {
            method
        } else {
            "GET"
        };
        let protocol = PROTOCOLS[weighted(&mut rng, &PROTOCOL_WEIGHTS)];
        let status = &STATUSES[weighted(&mut rng, &STATUS_WEIGHTS)];
        let referer = referers.draw(&mut rng);
        let request = Request {
            client,
            target,
            method,
            protocol,
            status,
            referer,
        };
        writer.write(&request, &clock, &mut buf);

        if buf.len() >= BLOCK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

/// Everything drawn for one line.
struct Request {
    /// Index into the clients.
    client: usize,
    /// Index into the targets.
    target: usize,
    method: &'static str,
    protocol: &'static str,
    status: &'static Status,
    referer: Referer,
}

/// The size of the response body, as a number; `None` when there is none (a 304).
fn body_size(request: &Request, targets: &Targets) -> Option<u64> {
    let size = targets.size[request.target];
    match request.status.body {
        Body::Full => Some(u64::from(size)),
        Body::Partial => Some(u64::from(size.min(PARTIAL_SIZE))),
        Body::Fixed(size) => Some(size),
        Body::None => None,
    }
}

fn validate(spec: &LogSpec) -> io::Result<()> {
    let problem = if spec.keys == 0 {
        "keys must be at least 1"
    } else if !(spec.zipf.is_finite() && spec.zipf >= 0.0) {
        "zipf must be a finite number >= 0"
    } else if !(spec.uniform >= 0.0 && spec.uniform <= 1.0) {
        "uniform must be between 0 and 1"
    } else {
        return Ok(());
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, problem))
}

/// Bytes gathered before each write to the output.
const BLOCK: usize = 1 << 16;

/// The clock advances one second with probability `1 / LINES_PER_SECOND` per line.
const LINES_PER_SECOND: u64 = 40;

/// Number of distinct clients (address, user, user agent).
const CLIENTS: usize = 20_000;

/// Zipf exponent of the client popularity.
const CLIENT_ZIPF: f64 = 1.1;

/// Number of the most popular targets that appear as referers of the site itself.
const INTERNAL_REFERERS: usize = 2000;

/// Largest body of a 206 (partial content) response.
const PARTIAL_SIZE: u32 = 65_536;

const SITE: &str = "https://www.example.com";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Words that make up slugs, search terms and user names: lowercase letters only.
const WORDS: &[&str] = &[
    "red", "blue", "green", "black", "white", "grey", "cotton", "leather", "wool", "linen", "running",
    "trail", "hiking", "summer", "winter", "spring", "classic", "modern", "vintage", "slim", "wide", "mini",
    "pro", "max", "ultra", "lite", "air", "soft", "smart", "shoe", "boot", "sneaker", "jacket", "shirt",
    "dress", "hat", "bag", "watch", "lamp", "chair", "table", "desk", "sofa", "phone", "cable", "charger",
    "case", "lens", "camera", "drone", "speaker", "headset", "mouse", "keyboard", "monitor", "guide",
    "review", "tips", "news", "update", "release", "howto", "tutorial", "faq", "story", "recipe", "travel",
    "garden", "kitchen", "office", "home", "outdoor", "kids", "men", "women", "sale", "new", "best", "top",
    "deal",
];

const CATEGORIES: &[&str] = &[
    "shoes",
    "clothing",
    "electronics",
    "home",
    "garden",
    "sports",
    "books",
    "toys",
    "beauty",
    "outdoor",
    "kitchen",
    "office",
];

const API_RESOURCES: &[&str] = &[
    "users",
    "orders",
    "products",
    "carts",
    "sessions",
    "reviews",
    "inventory",
    "payments",
    "shipments",
    "coupons",
];

const API_SUBRESOURCES: &[&str] = &["items", "history", "status", "comments", "images", "events"];

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "png", "webp"];

const SORT_ORDERS: &[&str] = &["price_asc", "price_desc", "newest", "rating", "popular"];

const CAMPAIGNS: &[&str] = &["newsletter", "google", "facebook", "partner", "spring_sale"];

/// Targets every site has; they take the top popularity ranks, in this order, when `keys`
/// allows. Every generated target differs from all of them (see `Targets::build`).
const COMMON_TARGETS: &[&str] = &[
    "/",
    "/favicon.ico",
    "/robots.txt",
    "/static/css/main.css",
    "/static/js/app.js",
    "/index.html",
    "/api/v1/health",
    "/login",
    "/cart",
    "/search",
    "/sitemap.xml",
    "/apple-touch-icon.png",
    "/static/js/vendor.js",
    "/about",
    "/contact",
    "/wp-login.php",
    "/.env",
    "/admin",
    "/feed",
    "/checkout",
];

/// Targets under these prefixes accept POST, PUT, DELETE and OPTIONS; the others get GET.
const WRITABLE_PREFIXES: &[&str] = &["/api/", "/login", "/cart", "/checkout", "/search", "/user/"];

const METHODS: [&str; 6] = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"];
const METHOD_WEIGHTS: [u32; 6] = [900, 60, 20, 10, 5, 5];

const PROTOCOLS: [&str; 3] = ["HTTP/1.1", "HTTP/2.0", "HTTP/1.0"];
const PROTOCOL_WEIGHTS: [u32; 3] = [70, 28, 2];

/// What a response's byte count is.
enum Body {
    /// The target's own size.
    Full,
    /// The target's size, at most `PARTIAL_SIZE`.
    Partial,
    /// A fixed error page of this many bytes.
    Fixed(u64),
    /// No body: Apache writes `-`.
    None,
}

struct Status {
    code: &'static str,
    body: Body,
}

const STATUSES: [Status; 11] = [
    Status {
        code: "200",
        body: Body::Full,
    },
    Status {
        code: "304",
        body: Body::None,
    },
    Status {
        code: "404",
        body: Body::Fixed(153),
    },
    Status {
        code: "301",
        body: Body::Fixed(169),
    },
    Status {
        code: "302",
        body: Body::Fixed(145),
    },
    Status {
        code: "403",
        body: Body::Fixed(146),
    },
    Status {
        code: "401",
        body: Body::Fixed(172),
    },
    Status {
        code: "500",
        body: Body::Fixed(177),
    },
    Status {
        code: "502",
        body: Body::Fixed(157),
    },
    Status {
        code: "206",
        body: Body::Partial,
    },
    Status {
        code: "201",
        body: Body::Fixed(86),
    },
];
const STATUS_WEIGHTS: [u32; 11] = [800, 70, 50, 30, 15, 10, 8, 5, 2, 5, 5];

/// User agents and their weights among clients. None contains `"`, so none can look like the
/// start of a request to the regex `"[A-Z]+ `.
const USER_AGENTS: [&str; 17] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.119 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Wget/1.21.4",
    "-",
];
const USER_AGENT_WEIGHTS: [u32; 17] = [30, 10, 14, 12, 5, 2, 5, 5, 2, 5, 2, 2, 2, 1, 1, 1, 1];

/// User agents with characters that JSON and logfmt escape: `"`, `\` and accented letters.
/// Only those two formats use them (see `Clients::agent`).
const ESCAPED_USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (compatible; \"Feedwatch\" reader/3.2; +https://feeds.example.org/about)",
    "Mozilla/5.0 (Linux; Android 14; Téléphone Série 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36",
    "Navigateur/2.1 (X11; Linux x86_64; édition \"libre\")",
    "Uploader/1.4 (Windows NT 10.0; C:\\Program Files\\Uploader)",
];

/// One client in this many sends an escaped user agent in JSON and logfmt.
const ESCAPED_AGENT_EVERY: usize = 40;

/// User names of the few clients that authenticate (about 2%); the rest log `-`.
const USER_NAMES: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];

/// Referers from other sites.
const EXTERNAL_REFERERS: [&str; 5] = [
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
];
const EXTERNAL_REFERER_WEIGHTS: [u32; 5] = [150, 20, 15, 10, 10];

/// Weights of no referer (`-`), another site, and a page of the site itself.
const REFERER_KIND_WEIGHTS: [u32; 3] = [350, 205, 450];

/// The request targets, by popularity rank (index 0 is the most popular).
struct Targets {
    /// All targets, one after another.
    arena: Vec<u8>,
    /// Where each target ends in `arena`; it starts where the previous one ends.
    ends: Vec<usize>,
    /// Body size of a full (200) response.
    size: Vec<u32>,
    /// Whether the target accepts methods other than GET and HEAD.
    writable: Vec<bool>,
}

impl Targets {
    /// Builds `keys` distinct targets.
    ///
    /// Distinct by construction, so no set is needed: the common targets are distinct, and
    /// every generated one carries its own serial number in a position its shape fixes, under
    /// a prefix (`/products/`, `/api/v1/<resource>/`, `/images/`, `/static/<ext>/<word>-`,
    /// `/blog/`, `/search?q=`, `/category/`, `/user/`) that no common target matches.
    fn build(rng: &mut Rng, keys: usize) -> Targets {
        let mut targets = Targets {
            arena: Vec::with_capacity(keys.saturating_mul(40)),
            ends: Vec::with_capacity(keys),
            size: Vec::with_capacity(keys),
            writable: Vec::with_capacity(keys),
        };
        for target in COMMON_TARGETS.iter().take(keys) {
            targets.arena.extend_from_slice(target.as_bytes());
            targets.finish(rng);
        }
        let mut serial: u64 = 0;
        while targets.ends.len() < keys {
            serial += 1;
            generate_target(rng, serial, &mut targets.arena);
            targets.finish(rng);
        }
        targets
    }

    /// Records the target just appended to the arena, with its size and methods.
    fn finish(&mut self, rng: &mut Rng) {
        let start = self.ends.last().copied().unwrap_or(0);
        let text = &self.arena[start..];
        let (low, span) = if text.starts_with(b"/images/") {
            (20_000, 400_000)
        } else if text.starts_with(b"/static/") {
            (2_000, 200_000)
        } else if text.starts_with(b"/api/") {
            (80, 4_000)
        } else {
            (3_000, 60_000)
        };
        let writable = WRITABLE_PREFIXES
            .iter()
            .any(|prefix| text.starts_with(prefix.as_bytes()));
        self.size.push(low + rng.below(span) as u32);
        self.writable.push(writable);
        self.ends.push(self.arena.len());
    }

    fn text(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.arena[start..self.ends[index]]
    }
}

/// Appends one generated target, unique through `serial`, to `out`.
fn generate_target(rng: &mut Rng, serial: u64, out: &mut Vec<u8>) {
    let kind = rng.below(100);
    if kind < 24 {
        out.extend_from_slice(b"/products/");
        push_str(out, rng.pick(CATEGORIES));
        out.push(b'/');
        push_slug(rng, 2, out);
        out.push(b'-');
        push_decimal(out, serial);
        if rng.below(100) < 15 {
            out.extend_from_slice(b"?utm_source=");
            push_str(out, rng.pick(CAMPAIGNS));
            out.extend_from_slice(b"&utm_medium=email");
        }
    } else if kind < 44 {
        out.extend_from_slice(b"/api/v1/");
        push_str(out, rng.pick(API_RESOURCES));
        out.push(b'/');
        push_decimal(out, serial);
        if rng.below(100) < 30 {
            out.push(b'/');
            push_str(out, rng.pick(API_SUBRESOURCES));
        }
        if rng.below(100) < 10 {
            out.extend_from_slice(b"?fields=id,name&limit=");
            push_decimal(out, 10 * (1 + rng.below(10)));
        }
    } else if kind < 59 {
        out.extend_from_slice(b"/images/");
        push_str(out, rng.pick(CATEGORIES));
        out.push(b'/');
        push_slug(rng, 2, out);
        out.push(b'-');
        push_decimal(out, serial);
        out.push(b'.');
        push_str(out, rng.pick(IMAGE_EXTENSIONS));
    } else if kind < 69 {
        let ext = if rng.below(2) == 0 { "js" } else { "css" };
        out.extend_from_slice(b"/static/");
        push_str(out, ext);
        out.push(b'/');
        push_str(out, rng.pick(WORDS));
        out.push(b'-');
        push_decimal(out, serial);
        out.push(b'.');
        push_hex8(out, rng.next_u64() as u32);
        out.push(b'.');
        push_str(out, ext);
    } else if kind < 82 {
        out.extend_from_slice(b"/blog/");
        push_decimal(out, 2015 + rng.below(10));
        out.push(b'/');
        let month = 1 + rng.below(12);
        if month < 10 {
            out.push(b'0');
        }
        push_decimal(out, month);
        out.push(b'/');
        push_slug(rng, 3, out);
        out.push(b'-');
        push_decimal(out, serial);
    } else if kind < 88 {
        out.extend_from_slice(b"/search?q=");
        push_str(out, rng.pick(WORDS));
        out.push(b'+');
        push_str(out, rng.pick(WORDS));
        out.extend_from_slice(b"&page=");
        push_decimal(out, serial);
    } else if kind < 93 {
        out.extend_from_slice(b"/category/");
        push_str(out, rng.pick(CATEGORIES));
        out.extend_from_slice(b"?page=");
        push_decimal(out, serial);
        out.extend_from_slice(b"&sort=");
        push_str(out, rng.pick(SORT_ORDERS));
    } else {
        out.extend_from_slice(b"/user/");
        push_str(out, rng.pick(WORDS));
        push_decimal(out, serial);
        out.extend_from_slice(b"/profile");
    }
}

/// Appends `words` random words joined by `-`.
fn push_slug(rng: &mut Rng, words: usize, out: &mut Vec<u8>) {
    for i in 0..words {
        if i > 0 {
            out.push(b'-');
        }
        push_str(out, rng.pick(WORDS));
    }
}

/// The clients: each has an address, a user and a user agent, and a popularity rank.
struct Clients {
    /// `"<address> - <user> ["` of every client, one after another.
    arena: Vec<u8>,
    ends: Vec<usize>,
    /// Length of the address at the start of each client's text.
    address_len: Vec<u8>,
    /// Index into `USER_AGENTS`.
    agent: Vec<usize>,
    ranks: Cumulative,
}

impl Clients {
    fn build(rng: &mut Rng) -> Clients {
        let mut clients = Clients {
            arena: Vec::with_capacity(CLIENTS * 24),
            ends: Vec::with_capacity(CLIENTS),
            address_len: Vec::with_capacity(CLIENTS),
            agent: Vec::with_capacity(CLIENTS),
            ranks: Cumulative::zipf(CLIENTS, CLIENT_ZIPF),
        };
        for i in 0..CLIENTS {
            let out = &mut clients.arena;
            let start = out.len();
            if rng.below(100) < 3 {
                out.extend_from_slice(b"2001:db8:");
                push_hex(out, rng.below(0x1_0000));
                out.push(b':');
                push_hex(out, rng.below(0x1_0000));
                out.extend_from_slice(b"::");
                push_hex(out, 1 + rng.below(0xffff));
            } else {
                push_decimal(out, 1 + rng.below(223));
                for _ in 0..2 {
                    out.push(b'.');
                    push_decimal(out, rng.below(256));
                }
                out.push(b'.');
                push_decimal(out, 1 + rng.below(254));
            }
            // At most 39 bytes: `2001:db8:` and three groups of 4 hex digits.
            clients.address_len.push((out.len() - start) as u8);
            out.extend_from_slice(b" - ");
            if rng.below(50) == 0 {
                push_str(out, rng.pick(USER_NAMES));
                push_decimal(out, i as u64);
            } else {
                out.push(b'-');
            }
            out.extend_from_slice(b" [");
            clients.ends.push(out.len());
            clients.agent.push(weighted(rng, &USER_AGENT_WEIGHTS));
        }
        clients
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        self.ranks.sample(rng)
    }

    /// `<address> - <user> [`, the start of a combined-format line.
    fn prefix(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.arena[start..self.ends[index]]
    }

    fn address(&self, index: usize) -> &[u8] {
        &self.prefix(index)[..usize::from(self.address_len[index])]
    }

    /// The user name, or `-` for a client that does not authenticate.
    fn user(&self, index: usize) -> &[u8] {
        let prefix = self.prefix(index);
        &prefix[usize::from(self.address_len[index]) + 3..prefix.len() - 2]
    }

    /// The user agent as the combined format writes it: never with a `"` or a `\`.
    fn plain_agent(&self, index: usize) -> &'static str {
        USER_AGENTS[self.agent[index]]
    }

    /// The user agent as JSON and logfmt write it: every `ESCAPED_AGENT_EVERY`th client
    /// sends one of `ESCAPED_USER_AGENTS` instead of its plain one.
    fn agent(&self, index: usize) -> &'static str {
        if index % ESCAPED_AGENT_EVERY == ESCAPED_AGENT_EVERY - 1 {
            ESCAPED_USER_AGENTS[index / ESCAPED_AGENT_EVERY % ESCAPED_USER_AGENTS.len()]
        } else {
            self.plain_agent(index)
        }
    }
}

/// Chooses referers: none, another site, or one of the site's popular pages.
struct Referers {
    internal: Cumulative,
}

/// Where a request came from.
#[derive(Clone, Copy)]
enum Referer {
    /// No referer: `-` in the combined format, empty elsewhere.
    None,
    /// Another site.
    External(&'static str),
    /// A page of the site itself: the target of this index.
    Internal(usize),
}

impl Referers {
    fn new(targets: &Targets) -> Referers {
        let pages = targets.ends.len().min(INTERNAL_REFERERS);
        Referers {
            internal: Cumulative::zipf(pages, 1.0),
        }
    }

    fn draw(&self, rng: &mut Rng) -> Referer {
        match weighted(rng, &REFERER_KIND_WEIGHTS) {
            0 => Referer::None,
            1 => Referer::External(EXTERNAL_REFERERS[weighted(rng, &EXTERNAL_REFERER_WEIGHTS)]),
            _ => Referer::Internal(self.internal.sample(rng)),
        }
    }
}

impl Referer {
    /// Appends the referer's URL, or `absent` when there is none.
    fn push(self, targets: &Targets, absent: &[u8], out: &mut Vec<u8>) {
        match self {
            Referer::None => out.extend_from_slice(absent),
            Referer::External(url) => push_str(out, url),
            Referer::Internal(page) => {
                push_str(out, SITE);
                out.extend_from_slice(targets.text(page));
            }
        }
    }
}

/// A cumulative weight table over ranks, sampled by binary search.
struct Cumulative {
    sums: Vec<f64>,
}

impl Cumulative {
    /// Ranks `1..=n` with weights `1 / rank^s`.
    fn zipf(n: usize, s: f64) -> Cumulative {
        let mut sums = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 1..=n {
            total += portable_exp(-s * portable_ln(rank as f64));
            sums.push(total);
        }
        Cumulative { sums }
    }

    /// A random index, each with probability proportional to its weight.
    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.sums[self.sums.len() - 1];
        let x = rng.unit() * total;
        self.sums
            .partition_point(|&sum| sum <= x)
            .min(self.sums.len() - 1)
    }
}

/// A random index into `weights`, each with probability proportional to its weight.
fn weighted(rng: &mut Rng, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let mut x = rng.below(total);
    for (i, &w) in weights.iter().enumerate() {
        if x < u64::from(w) {
            return i;
        }
        x -= u64::from(w);
    }
    weights.len() - 1
}

/// `xoshiro256**` seeded through `splitmix64`: small, fast, and the same on every platform.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut state = seed;
        let mut splitmix = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// A number in `0..n` (`n > 0`), by multiplying into the high half.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `[0, 1)` with 53 random bits: exact, so the same everywhere.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Natural logarithm of a positive normal number, from IEEE-754 basic operations only.
///
/// `x = m * 2^e` with `m` in `[sqrt(1/2), sqrt(2))`, and `ln m = 2 atanh((m - 1) / (m + 1))`
/// by its series, whose ratio is at most 0.03: 13 terms are below the rounding error.
fn portable_ln(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0);
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut power = t;
    let mut sum = 0.0;
    for k in 0..13 {
        sum += power / f64::from(2 * k + 1);
        power *= t2;
    }
    2.0 * sum + exponent as f64 * std::f64::consts::LN_2
}

/// `e^y`, from IEEE-754 basic operations only; 0 below the smallest subnormal, infinity above
/// the largest finite number.
///
/// `y = k ln 2 + r` with `|r| <= ln 2 / 2`; `e^r` by its Taylor series (20 terms are below the
/// rounding error), then scaled by `2^k`.
fn portable_exp(y: f64) -> f64 {
    if y < -746.0 {
        return 0.0;
    }
    if y > 710.0 {
        return f64::INFINITY;
    }
    let k = (y / std::f64::consts::LN_2).round();
    let r = y - k * std::f64::consts::LN_2;
    let mut value = 1.0;
    for n in (1..=20).rev() {
        value = 1.0 + value * r / f64::from(n);
    }
    // 2^k in at most two steps, so that subnormal results stay (nearly) right.
    let mut k = k as i64;
    while k != 0 {
        let step = k.clamp(-1000, 1000);
        value *= f64::from_bits(((step + 1023) as u64) << 52);
        k -= step;
    }
    value
}

/// The time of the current line, advanced one second at a time.
struct Clock {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// `dd/Mon/yyyy:HH:MM:SS +0000`.
    text: [u8; 26],
    /// The same time in RFC 3339: `yyyy-mm-ddTHH:MM:SS+00:00`.
    rfc3339: [u8; 25],
}

impl Clock {
    /// 10 March 2024, midnight UTC.
    fn start() -> Clock {
        let mut clock = Clock {
            year: 2024,
            month: 3,
            day: 10,
            hour: 0,
            minute: 0,
            second: 0,
            text: [0; 26],
            rfc3339: [0; 25],
        };
        clock.render();
        clock
    }

    fn tick(&mut self) {
        self.second += 1;
        if self.second == 60 {
            self.second = 0;
            self.minute += 1;
        }
        if self.minute == 60 {
            self.minute = 0;
            self.hour += 1;
        }
        if self.hour == 24 {
            self.hour = 0;
            self.day += 1;
        }
        if self.day > days_in_month(self.year, self.month) {
            self.day = 1;
            self.month += 1;
        }
        if self.month == 13 {
            self.month = 1;
            self.year += 1;
        }
        self.render();
    }

    fn render(&mut self) {
        let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        let t = &mut self.text;
        t[0..2].copy_from_slice(&two(self.day));
        t[2] = b'/';
        t[3..6].copy_from_slice(MONTHS[self.month as usize - 1].as_bytes());
        t[6] = b'/';
        t[7..9].copy_from_slice(&two(self.year / 100 % 100));
        t[9..11].copy_from_slice(&two(self.year % 100));
        t[11] = b':';
        t[12..14].copy_from_slice(&two(self.hour));
        t[14] = b':';
        t[15..17].copy_from_slice(&two(self.minute));
        t[17] = b':';
        t[18..20].copy_from_slice(&two(self.second));
        t[20..26].copy_from_slice(b" +0000");

        let t = &mut self.rfc3339;
        t[0..2].copy_from_slice(&two(self.year / 100 % 100));
        t[2..4].copy_from_slice(&two(self.year % 100));
        t[4] = b'-';
        t[5..7].copy_from_slice(&two(self.month));
        t[7] = b'-';
        t[8..10].copy_from_slice(&two(self.day));
        t[10] = b'T';
        t[11..19].copy_from_slice(&self.text[12..20]);
        t[19..25].copy_from_slice(b"+00:00");
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hexadecimal without leading zeros.
fn push_hex(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = HEX_DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Lowercase hexadecimal, always 8 digits.
fn push_hex8(out: &mut Vec<u8>, n: u32) {
    for shift in (0..8).rev() {
        out.push(HEX_DIGITS[((n >> (shift * 4)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn generate(spec: &LogSpec) -> Vec<u8> {
        let mut out = Vec::new();
        write_access_log(spec, &mut out).unwrap();
        out
    }

    fn lines(bytes: &[u8]) -> Vec<&str> {
        std::str::from_utf8(bytes).unwrap().lines().collect()
    }

    /// The capture of the first match of `"[A-Z]+ (\S+)`, matched by hand: the leftmost `"`
    /// followed by capitals, one space and a non-blank byte starts the match, and the capture
    /// runs to the next whitespace.
    fn request_capture(line: &str) -> Option<&str> {
        let b = line.as_bytes();
        for start in 0..b.len() {
            if b[start] != b'"' {
                continue;
            }
            let mut i = start + 1;
            while i < b.len() && b[i].is_ascii_uppercase() {
                i += 1;
            }
            if i == start + 1 || i + 1 >= b.len() || b[i] != b' ' {
                continue;
            }
            let capture_start = i + 1;
            let mut end = capture_start;
            while end < b.len() && !b[end].is_ascii_whitespace() {
                end += 1;
            }
            if end > capture_start {
                return Some(&line[capture_start..end]);
            }
        }
        None
    }

    fn sample_spec() -> LogSpec {
        LogSpec {
            lines: 5000,
            seed: 42,
            keys: 800,
            ..LogSpec::default()
        }
    }

    #[test]
    fn same_spec_gives_same_bytes() {
        let spec = sample_spec();
        assert_eq!(generate(&spec), generate(&spec));
    }

    #[test]
    fn different_seed_gives_different_bytes() {
        let a = generate(&sample_spec());
        let b = generate(&LogSpec {
            seed: 43,
            ..sample_spec()
        });
        assert_ne!(a, b);
    }

    #[test]
    fn default_output_is_pinned() {
        // FNV-1a of the default output. If this fails, the generator's output changed: the
        // committed fixtures must then be regenerated (fixtures/regenerate.sh).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in &generate(&LogSpec::default()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(
            hash, 0x6dfb_8d31_0693_cb7a,
            "FNV-1a of the default output: {hash:#018x}"
        );
    }

    #[test]
    fn writes_exactly_the_requested_lines() {
        for n in [0, 1, 2, 999] {
            let out = generate(&LogSpec {
                lines: n,
                ..LogSpec::default()
            });
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count() as u64, n);
            assert!(out.is_empty() || out.ends_with(b"\n"));
        }
    }

    #[test]
    fn field_7_is_the_regex_capture() {
        let out = generate(&sample_spec());
        let lines = lines(&out);
        assert_eq!(lines.len(), 5000);
        for line in lines {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            assert_eq!(request_capture(line), Some(fields[6]), "{line}");
        }
    }

    #[test]
    fn fields_have_the_documented_shape() {
        let out = generate(&sample_spec());
        assert!(out.is_ascii());
        assert!(!out.contains(&b'\t'));
        let mut statuses = BTreeSet::new();
        for line in lines(&out) {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            assert!(fields.len() >= 12, "{line}");
            assert!(fields[3].starts_with('[') && fields[4] == "+0000]", "{line}");
            assert!(fields[5].starts_with('"'), "{line}");
            assert!(fields[6].starts_with('/'), "{line}");
            assert!(
                fields[7].starts_with("HTTP/") && fields[7].ends_with('"'),
                "{line}"
            );
            let status = fields[8];
            assert!(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()));
            let bytes = fields[9];
            if status == "304" {
                assert_eq!(bytes, "-", "{line}");
            } else {
                assert!(!bytes.is_empty() && bytes.bytes().all(|b| b.is_ascii_digit()));
            }
            assert!(fields[10].starts_with('"') && fields[10].ends_with('"'), "{line}");
            statuses.insert(status.to_string());
        }
        for status in ["200", "304", "404"] {
            assert!(statuses.contains(status), "{status} never appears");
        }
    }

    #[test]
    fn distinct_targets_are_at_most_keys() {
        for keys in [1, 5, 20, 21, 800] {
            let spec = LogSpec {
                keys,
                ..sample_spec()
            };
            let out = generate(&spec);
            let distinct: BTreeSet<&str> = lines(&out)
                .iter()
                .map(|line| line.split_ascii_whitespace().nth(6).unwrap())
                .collect();
            assert!(distinct.len() <= keys, "{} > {keys}", distinct.len());
            assert!(distinct.len() >= keys.min(20), "keys {keys}: {}", distinct.len());
        }
    }

    #[test]
    fn pool_holds_exactly_keys_distinct_targets() {
        let keys = 50_000;
        let targets = Targets::build(&mut Rng::new(7), keys);
        let distinct: BTreeSet<&[u8]> = (0..keys).map(|i| targets.text(i)).collect();
        assert_eq!(distinct.len(), keys);
        for i in 0..keys {
            let text = targets.text(i);
            assert!(text.starts_with(b"/"));
            assert!(!text.iter().any(|b| b.is_ascii_whitespace() || *b == b'"'));
        }
        let with_query = (0..keys).filter(|&i| targets.text(i).contains(&b'?')).count();
        let share = with_query as f64 / keys as f64;
        assert!((0.12..0.20).contains(&share), "query share {share}");
    }

    #[test]
    fn uniform_one_reaches_most_of_the_pool() {
        let spec = LogSpec {
            lines: 20_000,
            keys: 1000,
            uniform: 1.0,
            ..LogSpec::default()
        };
        let out = generate(&spec);
        let distinct: BTreeSet<&str> = lines(&out)
            .iter()
            .map(|line| line.split_ascii_whitespace().nth(6).unwrap())
            .collect();
        assert!(distinct.len() > 990, "{}", distinct.len());
    }

    #[test]
    fn timestamps_never_go_backwards() {
        let spec = LogSpec {
            lines: 20_000,
            ..LogSpec::default()
        };
        let out = generate(&spec);
        let mut previous = (0, 0, 0, 0, 0, 0);
        for line in lines(&out) {
            let start = line.find('[').unwrap() + 1;
            let t = &line[start..start + 20];
            let num = |range: std::ops::Range<usize>| t[range].parse::<u32>().unwrap();
            let month = MONTHS.iter().position(|&m| m == &t[3..6]).unwrap();
            let now = (
                num(7..11),
                month as u32,
                num(0..2),
                num(12..14),
                num(15..17),
                num(18..20),
            );
            assert!(now >= previous, "{line}");
            previous = now;
        }
        assert!(previous > (2024, 2, 10, 0, 0, 0), "the clock never moved");
    }

    #[test]
    fn clients_mix_ipv4_and_ipv6_and_referers_are_often_absent() {
        let spec = LogSpec {
            lines: 20_000,
            ..LogSpec::default()
        };
        let out = generate(&spec);
        let lines = lines(&out);
        let ipv6 = lines.iter().filter(|l| l.starts_with("2001:db8:")).count();
        assert!(ipv6 > 0 && ipv6 < lines.len() / 10, "{ipv6}");
        let no_referer = lines
            .iter()
            .filter(|l| l.split_ascii_whitespace().nth(10) == Some("\"-\""))
            .count();
        let share = no_referer as f64 / lines.len() as f64;
        assert!((0.25..0.42).contains(&share), "{share}");
    }

    #[test]
    fn rejects_invalid_specs() {
        let bad = [
            LogSpec {
                keys: 0,
                ..LogSpec::default()
            },
            LogSpec {
                zipf: -1.0,
                ..LogSpec::default()
            },
            LogSpec {
                zipf: f64::NAN,
                ..LogSpec::default()
            },
            LogSpec {
                uniform: 1.5,
                ..LogSpec::default()
            },
        ];
        for spec in bad {
            let mut out = Vec::new();
            let err = write_access_log(&spec, &mut out).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(out.is_empty());
        }
    }

    #[test]
    fn extreme_zipf_exponents_work() {
        for zipf in [0.0, 0.5, 3.0, 400.0] {
            let spec = LogSpec {
                lines: 200,
                keys: 1000,
                zipf,
                uniform: 0.0,
                ..LogSpec::default()
            };
            assert_eq!(lines(&generate(&spec)).len(), 200);
        }
    }

    #[test]
    fn portable_math_is_accurate() {
        for x in [1.0, 1.5, 2.0, 3.0, 10.0, 12345.0, 1e6, 1e12] {
            let ln = portable_ln(x);
            assert!((ln - x.ln()).abs() <= 1e-14 * x.ln().abs().max(1.0), "ln {x}");
        }
        for y in [-700.0, -30.0, -13.8, -1.0, -0.3, 0.0, 0.3, 1.0, 20.0, 700.0] {
            let e = portable_exp(y);
            assert!((e - y.exp()).abs() <= 1e-13 * y.exp(), "exp {y}: {e}");
        }
        assert_eq!(portable_exp(0.0), 1.0);
        assert_eq!(portable_exp(-800.0), 0.0);
    }

    #[test]
    fn clock_rolls_over_days_months_and_years() {
        let mut clock = Clock::start();
        assert_eq!(&clock.text, b"10/Mar/2024:00:00:00 +0000");
        clock.tick();
        assert_eq!(&clock.text, b"10/Mar/2024:00:00:01 +0000");
        (clock.month, clock.day, clock.hour, clock.minute, clock.second) = (2, 29, 23, 59, 59);
        clock.tick();
        assert_eq!(&clock.text, b"01/Mar/2024:00:00:00 +0000");
        (clock.month, clock.day, clock.hour, clock.minute, clock.second) = (12, 31, 23, 59, 59);
        clock.tick();
        assert_eq!(&clock.text, b"01/Jan/2025:00:00:00 +0000");
        (clock.month, clock.day, clock.hour, clock.minute, clock.second) = (2, 28, 23, 59, 59);
        clock.tick();
        assert_eq!(&clock.text, b"01/Mar/2025:00:00:00 +0000");
    }
}
