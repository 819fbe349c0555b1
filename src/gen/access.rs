//! Access transactions: a request, its phases and the response, as the appliance logs them.

use super::*;

impl Gen {
    pub(super) fn access(&mut self) -> u64 {
        let open = self.txns.len();
        let i = if open == 0 || (open < 12 && self.rng.chance(0.3)) {
            let t = self.new_txn();
            self.txns.push(t);
            open
        } else {
            self.rng.below(open as u64) as usize
        };
        let mut txn = self.txns[i].clone();
        txn.phase = txn.phases.trailing_zeros() as u8;
        self.access_event(&txn);
        txn.phases &= txn.phases - 1;
        if txn.phases == 0 {
            self.txns.swap_remove(i);
        } else {
            self.txns[i] = txn;
        }
        1
    }

    pub(super) fn new_txn(&mut self) -> Txn {
        const SITES: [(&str, &str, u16, &str); 8] = [
            ("http", "shop.example.com", 80, "shop.example.com"),
            ("https", "api.example.com", 443, "api.example.com"),
            (
                "http",
                "portal.example.com",
                8080,
                "portal.example.com:8080",
            ),
            ("http", "jwas1.jsec.net", 80, "jwas1.jsec.net"),
            ("http", "10.20.0.53", 80, "10.20.0.53"),
            ("http", "192.0.2.80", 8080, "192.0.2.80:8080"),
            ("http", "[2001:db8::10]", 8080, "[2001:db8::10]:8080"),
            (
                "http",
                "zach-vm.jwas.jsec.net",
                80,
                "zach-vm.jwas.jsec.net:80",
            ),
        ];
        let r = &mut self.rng;
        let (scheme, host, port, host_header) = *r.pick(&SITES);
        let method = *r.pick_weighted(&[
            (75, "GET"),
            (20, "POST"),
            (3, "HEAD"),
            (1, "PUT"),
            (1, "DELETE"),
        ]);
        let mut body = None;
        let target = if method == "POST" || method == "PUT" {
            match r.below(5) {
                0 => {
                    let user = *r.pick(&["admin", "jdoe", "mykonos", "guest", "admin%27--"]);
                    body = Some((
                        "application/x-www-form-urlencoded",
                        format!("username={user}&password={}", r.alnum(8)),
                    ));
                    "/login.php".to_owned()
                }
                1 => {
                    let (order, sku, qty) = (r.range(10_000, 99_999), r.pick(&SKUS), r.range(1, 5));
                    body = Some((
                        "application/json; charset=utf-8",
                        format!(
                            "{{\"order_id\": {order},\n \"items\": [{{\"sku\": \"{sku}\", \"qty\": {qty}}}],\n \"coupon\": null}}"
                        ),
                    ));
                    "/api/v1/orders".to_owned()
                }
                2 => {
                    let size = r.range(1000, 900_000);
                    body = Some((
                        "application/x-www-form-urlencoded",
                        format!(
                            "filename=report-{}.pdf&sha256={}&size={size}",
                            r.range(1, 999),
                            r.hex(64, false)
                        ),
                    ));
                    "/api/v1/uploads/verify".to_owned()
                }
                3 => {
                    let name = *r.pick(&["Alice Example", "Bob Example", "Carol Example"]);
                    let mail = name.split(' ').next().unwrap_or("x").to_ascii_lowercase();
                    body = Some(("text/csv", format!("name,email\n{name},{mail}@example.com")));
                    "/account/import".to_owned()
                }
                _ => {
                    body = Some((
                        "application/json",
                        format!(
                            "{{\"event\": \"download\", \"client\": \"{}\", \"md5\": \"{}\"}}",
                            r.client_ip(),
                            r.hex(32, false)
                        ),
                    ));
                    "/api/v1/events".to_owned()
                }
            }
        } else {
            match r.below(14) {
                0 => "/".to_owned(),
                1 => "/index.html".to_owned(),
                2 => format!("/products/view?id={}", r.range(1, 5000)),
                3 => format!("/cart?item={}&qty={}", r.range(1000, 1999), r.range(1, 4)),
                4 => format!(
                    "/search?q={}",
                    r.pick(&["usb+cable", "laptop", "%27+OR+1%3D1", "gift"])
                ),
                5 => format!("/static/js/app.{}.js", r.hex(8, false)),
                6 => "/images/logo.png".to_owned(),
                7 => "/api/v1/status".to_owned(),
                8 => "/genericelectronics".to_owned(),
                9 => format!("/account/{}", r.pick(&["profile", "orders", "settings"])),
                10 => r
                    .pick(&[
                        "/robots.txt",
                        "/admin/",
                        "/.htaccess",
                        "/wp-login.php",
                        "/.git/config",
                    ])
                    .to_string(),
                11 => format!(
                    "/downloads/setup-{}.exe?sha1={}",
                    r.range(1, 9),
                    r.hex(40, false)
                ),
                12 => format!("/api/v1/profiles/{}", r.range(3000, 9999)),
                _ => format!("/uploads/{}", r.range(10_000, 60_000)),
            }
        };
        let url = format!("{scheme}://{host}:{port}{target}");
        let mut xff = r.client_ip();
        if r.chance(0.35) {
            xff.push_str(", 10.20.1.23");
        }
        if r.chance(0.05) {
            xff = format!("{}, {xff}", r.ipv4());
        }
        let user_agent = *r.pick(&USER_AGENTS);
        let mut extra_headers = Vec::new();
        if r.chance(0.6) {
            extra_headers.push(
                r.pick(&[
                    "accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    "accept: application/json",
                    "accept: */*",
                ])
                .to_string(),
            );
        }
        if r.chance(0.4) {
            extra_headers.push("accept-language: en-US,en;q=0.5".to_owned());
        }
        if r.chance(0.5) {
            extra_headers.push(format!("cookie: JSESSIONID={}", r.hex(32, true)));
            if r.chance(0.3) {
                extra_headers.push(format!("cookie: cart_token={}", r.hex(8, false)));
            }
        }
        if r.chance(0.25) {
            extra_headers.push(format!("referer: {scheme}://{host_header}/"));
        }
        if r.chance(0.05) {
            extra_headers.push(
                "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo"
                    .to_owned(),
            );
        }
        let status = if method == "POST" && target == "/api/v1/orders" {
            (201, "Created")
        } else {
            *r.pick_weighted(&STATUSES)
        };
        let server = *r.pick(&[
            "Apache/2.4.41 (Ubuntu)",
            "nginx",
            "Apache/2.4.7 (Ubuntu)",
            "Apache/2.2.22 (Debian)",
        ]);
        let response_body = match status.0 {
            404 if r.chance(0.5) => Some(
                "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
                    .to_owned(),
            ),
            201 => Some(format!("{{\"status\": \"created\", \"id\": {}}}", r.range(1, 99_999))),
            200 if target.starts_with("/api/") && r.chance(0.5) => Some(format!(
                "{{\"ok\": true, \"node\": \"10.20.0.{}\", \"digest\": \"{}\"}}",
                r.range(50, 59),
                r.hex(40, false)
            )),
            _ => None,
        };
        let ctype = match status.0 {
            201 => "application/json",
            _ if target.starts_with("/api/") => "application/json",
            _ if target.ends_with(".js") => "application/javascript",
            _ if target.ends_with(".png") => "image/png",
            404 => "text/html; charset=iso-8859-1",
            _ => "text/html; charset=UTF-8",
        };
        let mut response_headers = vec![format!("server: {server}")];
        if status.0 != 304 {
            response_headers.push(format!("content-type: {ctype}"));
            let len = response_body
                .as_ref()
                .map_or(r.range(0, 60_000), |b| b.len() as u64);
            response_headers.push(format!("content-length: {len}"));
        }
        if status.0 == 302 {
            response_headers.push(format!("location: {scheme}://{host_header}/login.php"));
        }
        if r.chance(0.1) {
            response_headers.push(format!(
                "set-cookie: cart_token={}; Path=/; HttpOnly",
                r.hex(8, false)
            ));
        }
        let proxy_ip = if r.chance(0.95) {
            "127.0.0.1"
        } else {
            "10.20.0.5"
        };
        let mut phases = 0;
        for (bit, p) in [0.95, 0.85, 0.95, 0.85].into_iter().enumerate() {
            if r.chance(p) {
                phases |= 1 << bit;
            }
        }
        Txn {
            key: r.uuid(),
            thread: r.range(1, 32) as u32,
            proxy_ip,
            url,
            host_header: host_header.to_owned(),
            method,
            target,
            xff,
            user_agent,
            extra_headers,
            body,
            status,
            response_headers,
            response_body,
            phases: if phases == 0 { 1 } else { phases },
            phase: 0,
        }
    }

    pub(super) fn access_event(&mut self, t: &Txn) {
        let crlf = self.rng.chance(0.003);
        let eol: &str = if crlf { "\r\n" } else { "\n" };
        const LEVELS: [(u32, &str); 4] = [(90, "INFO"), (5, "DEBUG"), (4, "WARN"), (1, "ERROR")];
        let level = *self.rng.pick_weighted(&LEVELS);
        let (kind, stage) = match t.phase {
            0 => ("REQUEST", "PRE"),
            1 => ("REQUEST", "POST"),
            2 => ("RESPONSE", "PRE"),
            _ => ("RESPONSE", "POST"),
        };
        self.head("webappsecure");
        w!(
            self,
            "[{level}][mws-access][se-request-{}] key:{},PHASE_{kind}_{stage}_PROCESS,{},{}{eol}",
            t.thread,
            t.key,
            t.proxy_ip,
            t.url
        );
        let with_message = match t.phase {
            0 => self.rng.chance(0.9),
            1 => self.rng.chance(0.35),
            2 => self.rng.chance(0.9),
            _ => self.rng.chance(0.1),
        };
        if !with_message {
            return;
        }
        if kind == "REQUEST" {
            let host = if self.rng.chance(0.1) { "Host" } else { "host" };
            let ua = if self.rng.chance(0.3) {
                "User-Agent"
            } else {
                "user-agent"
            };
            w!(self, "{} {} HTTP/1.1{eol}", t.method, t.target);
            w!(self, "{host}: {}{eol}", t.host_header);
            w!(self, "x-forwarded-for: {}{eol}", t.xff);
            w!(self, "x-myk-appid: default{eol}connection: close{eol}");
            w!(self, "{ua}: {}{eol}", t.user_agent);
            for h in &t.extra_headers {
                w!(self, "{h}{eol}");
            }
            w!(self, "x-myk-access-log-id: {}{eol}", t.key);
            if let Some((ctype, body)) = &t.body {
                let ct = if self.rng.chance(0.2) {
                    "Content-Type"
                } else {
                    "content-type"
                };
                w!(
                    self,
                    "{ct}: {ctype}{eol}content-length: {}{eol}{eol}",
                    body.len()
                );
                for line in body.split('\n') {
                    w!(self, "{line}{eol}");
                }
            } else if self.rng.chance(0.05) {
                // The empty line that ends the headers of a request without a body.
                w!(self, "{eol}");
            }
        } else {
            w!(self, "HTTP/1.1 {} {}{eol}", t.status.0, t.status.1);
            for h in &t.response_headers {
                w!(self, "{h}{eol}");
            }
            w!(self, "x-myk-access-log-id: {}{eol}", t.key);
            if let Some(body) = &t.response_body {
                w!(self, "{eol}{body}{eol}");
            }
        }
    }
}
