//! A real S3 server for the tests: `moto` from the project's venv (created by
//! `scripts/venv.sh` on first use), started once per test binary on a free loopback port.
//! It stops when the test binary exits: it runs until its standard input closes.
//! If it cannot be started, the test fails and says what to install.

use super::{jwas_cmd, root};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// Starts `script` (a server that prints its `http://127.0.0.1:PORT` URL on its first line
/// and stops when its standard input closes) with the venv's `python`; the child and URL.
fn spawn_server(python: &str, script: &str, args: &[&str]) -> (Child, String) {
    let python = python.trim();
    let mut child = Command::new(python)
        .arg(root().join(script))
        .args(args)
        .arg("--until-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {python} {script}: {e}; {INSTALL}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{script} did not start (printed {line:?}); {INSTALL}"
    );
    (child, url)
}

/// The running server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    rt: tokio::runtime::Runtime,
    client: Client,
    sqs: aws_sdk_sqs::Client,
    _child: Mutex<Child>,
}

/// The test binary's server, started on first use.
pub fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(start)
}

const INSTALL: &str = "the S3 tests need moto_server from PyPI, which scripts/venv.sh \
    installs into .venv; it needs Python 3 with venv and pip (Debian: apt-get install \
    python3 python3-venv python3-pip) and access to PyPI";

fn start() -> Moto {
    let venv = Command::new("bash")
        .arg(root().join("scripts/venv.sh"))
        .output()
        .unwrap_or_else(|e| panic!("running scripts/venv.sh: {e}; {INSTALL}"));
    assert!(
        venv.status.success(),
        "scripts/venv.sh failed:\n{}\n{INSTALL}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let (child, url) = spawn_server(
        &String::from_utf8_lossy(&venv.stdout),
        "scripts/moto_server.py",
        &[],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&url)
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let sqs = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(&url)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    Moto {
        url,
        rt,
        client: Client::from_conf(config),
        sqs: aws_sdk_sqs::Client::from_conf(sqs),
        _child: Mutex::new(child),
    }
}

impl Moto {
    /// Runs `jwas` against this server (credentials and endpoint in its environment, nothing
    /// from the user's AWS configuration), in the repository root.
    pub fn jwas(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The `jwas` command with this server's environment, to adjust before running.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = jwas_cmd(args);
        isolate(&mut c);
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.url);
        c
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.rt
            .block_on(self.client.create_bucket().bucket(bucket).send())
            .unwrap();
    }

    /// Writes an object.
    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body))
                    .send(),
            )
            .unwrap();
    }

    /// Every key under `prefix` with its size, in key order.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, i64)> {
        self.rt.block_on(async {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                for o in page.unwrap().contents() {
                    out.push((o.key().unwrap().to_owned(), o.size().unwrap_or(0)));
                }
            }
            out
        })
    }

    /// An object's bytes.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            out.body.collect().await.unwrap().into_bytes().to_vec()
        })
    }

    /// Copies every object under `prefix` into `dir`, keeping the key below the prefix as
    /// the relative path.
    pub fn download(&self, bucket: &str, prefix: &str, dir: &Path) {
        for (key, _) in self.list(bucket, prefix) {
            let path = dir.join(key.strip_prefix(prefix).unwrap().trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, self.get(bucket, &key)).unwrap();
        }
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_uploads(&self, bucket: &str) -> usize {
        self.rt
            .block_on(self.client.list_multipart_uploads().bucket(bucket).send())
            .unwrap()
            .uploads()
            .len()
    }
}

impl Moto {
    /// Creates a queue with attributes (e.g. `VisibilityTimeout`, `RedrivePolicy`); its URL.
    pub fn create_queue(&self, name: &str, attributes: &[(&str, &str)]) -> String {
        use aws_sdk_sqs::types::QueueAttributeName;
        let mut req = self.sqs.create_queue().queue_name(name);
        for (k, v) in attributes {
            req = req.attributes(QueueAttributeName::from(*k), *v);
        }
        self.rt
            .block_on(req.send())
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    }

    /// A queue's ARN in moto's default account and region.
    pub fn queue_arn(name: &str) -> String {
        format!("arn:aws:sqs:us-east-1:123456789012:{name}")
    }

    /// Makes the bucket notify the queue of every object created.
    pub fn notify(&self, bucket: &str, queue: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let config = NotificationConfiguration::builder()
            .queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(Moto::queue_arn(queue))
                    .events(Event::from("s3:ObjectCreated:*"))
                    .build()
                    .unwrap(),
            )
            .build();
        self.rt
            .block_on(
                self.client
                    .put_bucket_notification_configuration()
                    .bucket(bucket)
                    .notification_configuration(config)
                    .send(),
            )
            .unwrap();
    }

    /// Sends a message.
    pub fn send(&self, queue_url: &str, body: &str) {
        self.rt
            .block_on(
                self.sqs
                    .send_message()
                    .queue_url(queue_url)
                    .message_body(body)
                    .send(),
            )
            .unwrap();
    }

    /// The ids of the messages visible now, received (and left in flight) until a
    /// receive comes back empty.
    pub fn receive_ids(&self, queue_url: &str) -> Vec<String> {
        let mut ids = Vec::new();
        loop {
            let out = self
                .rt
                .block_on(
                    self.sqs
                        .receive_message()
                        .queue_url(queue_url)
                        .max_number_of_messages(10)
                        .send(),
                )
                .unwrap();
            if out.messages().is_empty() {
                return ids;
            }
            ids.extend(
                out.messages()
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_owned)),
            );
        }
    }

    /// (visible, in flight) messages of a queue.
    pub fn queue_counts(&self, queue_url: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .rt
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(queue_url)
                    .attribute_names(A::All)
                    .send(),
            )
            .unwrap();
        let get = |k: A| -> u64 {
            out.attributes()
                .and_then(|a| a.get(&k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (
            get(A::ApproximateNumberOfMessages),
            get(A::ApproximateNumberOfMessagesNotVisible),
        )
    }
}

/// Clears the user's AWS configuration from a command's environment.
pub fn isolate(c: &mut Command) {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        c.env_remove(var);
    }
    c.env("AWS_CONFIG_FILE", "/nonexistent/jwas-test-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/jwas-test-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// `scripts/fault_proxy.py` in front of the test binary's moto, on a free loopback port:
/// requests pass through unchanged until rules say otherwise (errors, stalls, resets, cut
/// bodies, per operation; see the script's docstring). One per test, as rules are global
/// to a proxy. It stops when dropped (its standard input closes).
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl FaultProxy {
    /// Starts a proxy in front of moto.
    pub fn start() -> FaultProxy {
        let moto = moto();
        let venv = Command::new("bash")
            .arg(root().join("scripts/venv.sh"))
            .output()
            .unwrap_or_else(|e| panic!("running scripts/venv.sh: {e}; {INSTALL}"));
        let (child, url) = spawn_server(
            &String::from_utf8_lossy(&venv.stdout),
            "scripts/fault_proxy.py",
            &["--upstream", &moto.url],
        );
        FaultProxy { url, child }
    }

    /// Replaces the rules: `rules` is the JSON array of the script's RULE objects.
    pub fn set(&self, rules: &str) {
        let (status, body) = self.control("PUT", &format!("{{\"rules\": {rules}}}"));
        assert_eq!(status, 200, "setting rules {rules}: {body}");
    }

    /// Requests seen and faults injected so far: the script's `GET /__faults__` answer.
    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = self.control("GET", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Requests of operation `op` seen so far.
    pub fn seen(&self, op: &str) -> u64 {
        self.stats()["counts"][op].as_u64().unwrap_or(0)
    }

    /// Faults injected into operation `op` so far.
    pub fn injected(&self, op: &str) -> u64 {
        self.stats()["injected"][op].as_u64().unwrap_or(0)
    }

    fn control(&self, method: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(
            s,
            "{method} /__faults__ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// The `jwas` command with moto's credentials and this proxy as the endpoint.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = moto().command(args);
        c.env("AWS_ENDPOINT_URL", &self.url);
        c
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
