//! Logs, request ids and Prometheus metrics: what operators see of a running service.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use tracing::Instrument;

/// Installs the global tracing subscriber (`RUST_LOG`-style filter via
/// `SLOTWISE_LOG`, default `info`; JSON lines when asked for).
///
/// Lines are formatted on the thread that logs them and written to stderr by
/// a thread of their own (see [`LogLines`]), so a request never waits on the
/// terminal or a pipe, and bursts reach stderr in a few large writes instead
/// of one `write` call each.
pub fn init_logging(json: bool) {
    let filter: tracing_subscriber::filter::Targets = std::env::var("SLOTWISE_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| "info".parse().expect("static filter"));
    use tracing_subscriber::prelude::*;
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(LogLines::global()),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(LogLines::global()),
            )
            .try_init()
    };
    // A second init (tests build many apps in one process) is harmless.
    let _ = result;
}

/// What the log thread is handed: a formatted line, or a request to report
/// once everything before it is written.
enum LogItem {
    Line(Vec<u8>),
    Flushed(std::sync::mpsc::SyncSender<()>),
}

/// Lines waiting for the log thread, at most. A logger that outruns stderr
/// for that long waits for it (backpressure) rather than dropping lines: a
/// log line may be the only record of what happened.
const LOG_QUEUE: usize = 16 * 1024;

/// The writer behind every log line: hands each formatted line to one
/// thread that writes them to stderr, batching what has queued up and
/// flushing whenever the queue runs dry (so a quiet server's lines appear at
/// once).
#[derive(Clone)]
pub struct LogLines {
    queue: std::sync::mpsc::SyncSender<LogItem>,
}

impl LogLines {
    fn global() -> Self {
        static LINES: std::sync::OnceLock<LogLines> = std::sync::OnceLock::new();
        LINES
            .get_or_init(|| {
                let (queue, lines) = std::sync::mpsc::sync_channel(LOG_QUEUE);
                std::thread::Builder::new()
                    .name("slotwise-log".into())
                    .spawn(move || write_lines(lines))
                    .expect("the log thread starts");
                LogLines { queue }
            })
            .clone()
    }
}

fn write_lines(lines: std::sync::mpsc::Receiver<LogItem>) {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
    let mut waiting = Vec::new();
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(item) = next {
            match item {
                LogItem::Line(line) => {
                    let _ = out.write_all(&line);
                }
                LogItem::Flushed(done) => waiting.push(done),
            }
            next = lines.try_recv().ok();
        }
        let _ = out.flush();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Waits (at most a second) until every line logged so far is on stderr:
/// `serve` calls it on its way out.
pub fn flush_logs() {
    let (done, flushed) = std::sync::mpsc::sync_channel(1);
    if LogLines::global()
        .queue
        .send(LogItem::Flushed(done))
        .is_ok()
    {
        let _ = flushed.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// One log line being formatted; handed to the log thread when dropped.
pub struct LogLine<'a> {
    line: Vec<u8>,
    lines: &'a LogLines,
}

impl std::io::Write for LogLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine<'_> {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let _ = self.lines.queue.send(LogItem::Line(line));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogLines {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine {
            line: Vec::with_capacity(256),
            lines: self,
        }
    }
}

/// Upper bounds, in seconds, of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The method as a metrics label: the standard methods by name, anything
/// else (`curl -X M1234`) as `other`, so callers cannot grow the series.
pub fn method_label(method: &str) -> &str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// Request counts and latencies by method, route pattern and status.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(String, String, u16), Series>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = series
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                entry.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = series.keys().collect();
        keys.sort();
        let mut out = String::new();
        out.push_str(
            "# HELP slotwise_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE slotwise_http_requests_total counter\n");
        for key in &keys {
            let (method, route, status) = key;
            out.push_str(&format!(
                "slotwise_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}\n",
                series[*key].count
            ));
        }
        out.push_str("# HELP slotwise_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE slotwise_http_request_duration_seconds histogram\n");
        for key in &keys {
            let (method, route, status) = key;
            let s = &series[*key];
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "slotwise_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}\n",
                    s.buckets[i]
                ));
            }
            out.push_str(&format!(
                "slotwise_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
                s.count
            ));
            out.push_str(&format!(
                "slotwise_http_request_duration_seconds_sum{{{labels}}} {}\n",
                s.sum_seconds
            ));
            out.push_str(&format!(
                "slotwise_http_request_duration_seconds_count{{{labels}}} {}\n",
                s.count
            ));
        }
        out
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (the caller's `x-request-id` if it is sane),
/// runs it inside a span carrying that id, logs it, records metrics, and echoes
/// the id on the response.
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| crate::ids::new_id("req"));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span = tracing::info_span!("request", request_id = %request_id, %method, %path);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut response = result?;
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .filter(|pattern| pattern != crate::api::methods::ANY_PATH)
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(metrics) = metrics {
        metrics.observe(method_label(&method), &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, route = %route, ms = elapsed * 1000.0, "served"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}
