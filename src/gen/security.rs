//! Security events: incidents and the attacker profiles they belong to.

use super::*;

/// A security alert's category.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alert {
    /// A new attacker profile.
    NewProfile,
    /// A security incident of a known profile.
    Incident,
    /// A counter response to a profile (`auto-response`).
    CounterResponse,
}

/// Security alerts, by weight.
const ALERTS: [(u32, Alert); 3] = [
    (25, Alert::NewProfile),
    (60, Alert::Incident),
    (15, Alert::CounterResponse),
];

impl Gen {
    pub(super) fn new_profile(&mut self) -> Profile {
        const NAMES: [&str; 12] = [
            "Alice", "Brett", "Grace", "Ingrid", "Mateo", "Victor", "Zoe", "Hiro", "Nadia", "Omar",
            "Priya", "Sven",
        ];
        let r = &mut self.rng;
        let p = Profile {
            id: self.next_profile,
            name: format!("{} {}", r.pick(&NAMES), r.range(1000, 9999)),
            pubkey: r.alnum(20),
            ip: r.client_ip(),
            user_agent: USER_AGENTS[r.below(USER_AGENTS.len() as u64) as usize],
        };
        self.next_profile += 1;
        if self.profiles.len() < 256 {
            self.profiles.push(p.clone());
            self.last_profile = self.profiles.len() - 1;
        } else {
            self.last_profile = (self.last_profile + 1) % self.profiles.len();
            self.profiles[self.last_profile] = p.clone();
        }
        p
    }

    pub(super) fn security(&mut self) -> u64 {
        let kind = *self.rng.pick_weighted(&ALERTS);
        let (level, service) = if kind == Alert::CounterResponse {
            ("INFO", "auto-response")
        } else if self.rng.chance(0.85) {
            ("INFO", "traffic-info")
        } else {
            ("WARN", "traffic-info")
        };
        let mut line = String::with_capacity(512);
        use std::fmt::Write as _;
        let pubkey_key = |r: &mut Rng| if r.chance(0.7) { "PubKey" } else { "pubkey" };
        match kind {
            Alert::NewProfile => {
                let p = self.new_profile();
                let k = pubkey_key(&mut self.rng);
                let _ = write!(
                    line,
                    "MKS_Category=\"New Profile\" MKS_ProfileId=\"{}\" MKS_ProfileName=\"{}\" MKS_{k}=\"{}\"",
                    p.id, p.name, p.pubkey
                );
            }
            Alert::Incident => {
                let p = self.some_profile();
                let r = &mut self.rng;
                let (incident, severity, path) = *r.pick(&INCIDENTS);
                let site = *r.pick(&[
                    "http://jwas1.jsec.net:80",
                    "http://shop.example.com:80",
                    "https://shop.example.com:443",
                    "http://[2001:db8::10]:8080",
                    "http://192.0.2.80:8080",
                ]);
                let ua = if r.chance(0.03) { "" } else { p.user_agent };
                let k = if r.chance(0.7) { "pubkey" } else { "PubKey" };
                let _ = write!(
                    line,
                    "MKS_Category=\"Security Incident\" MKS_Type=\"{incident}\" MKS_Severity=\"{severity}\" MKS_ProfileName=\"{}\" MKS_SrcIP=\"{}\" MKS_{k}=\"{}\" MKS_useragent=\"{}\" MKS_url=\"{}\" MKS_count=\"{}\" MKS_fakeresponse=\"{}\"",
                    p.name,
                    p.ip,
                    p.pubkey,
                    escape(ua),
                    escape(&format!("{site}{path}")),
                    r.range(1, 12),
                    r.chance(0.6)
                );
                if r.chance(0.05) {
                    line.push_str(" MKS_Hostname=\"jwas1.jsec.net\"");
                }
            }
            Alert::CounterResponse => {
                let p = self.some_profile();
                let now = self.now();
                let r = &mut self.rng;
                let (code, name, config) = *r.pick(&RESPONSES);
                let frac = if r.chance(0.7) {
                    ".0".to_owned()
                } else {
                    format!(".{:06}", r.below(1_000_000))
                };
                let created = format!(
                    "{}{frac}",
                    (now - chrono::Duration::seconds(1)).format("%Y-%m-%d %H:%M:%S")
                );
                let delayed = if r.chance(0.8) {
                    created.clone()
                } else {
                    format!(
                        "{}.0",
                        (now + chrono::Duration::seconds(r.range(1, 600) as i64))
                            .format("%Y-%m-%d %H:%M:%S")
                    )
                };
                let expires = if r.chance(0.5) {
                    "null".to_owned()
                } else {
                    format!(
                        "{}.0",
                        (now + chrono::Duration::hours(r.range(1, 72) as i64))
                            .format("%Y-%m-%d %H:%M:%S")
                    )
                };
                let _ = write!(
                    line,
                    "MKS_Category=\"New Counter Response\" MKS_ResponseCode=\"{code}\" MKS_ResponseName=\"{name}\" MKS_ProfileId=\"{}\" MKS_ProfileName=\"{}\" MKS_ResponseCreated=\"{created}\" MKS_ResponseDelayed=\"{delayed}\" MKS_ResponseExpires=\"{expires}\" MKS_ResponseConfig=\"{}\" MKS_SilentRunning=\"{}\"",
                    p.id,
                    p.name,
                    escape(config),
                    r.chance(0.5)
                );
            }
        }
        self.head("jwas1");
        w!(self, "[{level}][mws-security-alert][{service}] {line}\n");
        1
    }

    /// A profile seen before (mostly a recent one), or a new one.
    pub(super) fn some_profile(&mut self) -> Profile {
        if self.profiles.is_empty() {
            return self.new_profile();
        }
        let n = self.profiles.len() as u64;
        let i = if self.rng.chance(0.7) {
            // recent profiles are the active ones
            let last = self.last_profile as u64;
            (last + n - self.rng.below(n.min(8))) % n
        } else {
            self.rng.below(n)
        };
        self.profiles[i as usize].clone()
    }
}
