//! The listener, one task per connection, and the handle tests and the CLI hold.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::config::{MockConfig, TagType};
use super::faults::Fault;
use super::handler::{ConnContext, handle};
use super::state::{CustomerView, Operation, RecordedRequest, State, TagInfo, lock};

/// A running mock API. Dropping it (or calling [`MockServer::shutdown`]) stops it.
///
/// Every accessor takes the state lock briefly; none of them blocks on requests in flight.
pub struct MockServer {
    /// The bound address.
    addr: SocketAddr,
    /// Shared with every connection.
    state: Arc<Mutex<State>>,
    /// Set to `true` to stop accepting and close every connection.
    shutdown: watch::Sender<bool>,
    /// The runtime thread of [`MockServer::start_background`], joined on drop so the port
    /// is free again when `drop` returns.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Binds `addr` (port 0 picks a free port) and serves on the current tokio runtime,
    /// which must keep running (not be blocked) for the server to answer; synchronous
    /// tests want [`MockServer::start_background`] instead.
    pub async fn start(config: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new(config)));
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(serve(listener, Arc::clone(&state), stopped));
        Ok(MockServer {
            addr,
            state,
            shutdown,
            thread: None,
        })
    }

    /// Binds `127.0.0.1:0` and serves from a thread with its own two-worker runtime, for
    /// synchronous tests.
    ///
    /// # Panics
    ///
    /// If the loopback port cannot be bound or the runtime cannot be built: a test cannot
    /// proceed without its server, so failing loudly is the useful outcome.
    pub fn start_background(config: MockConfig) -> MockServer {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("tagctl-mock: cannot bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("tagctl-mock: cannot make the listener non-blocking");
        let addr = listener
            .local_addr()
            .expect("tagctl-mock: bound listener has no address");
        let state = Arc::new(Mutex::new(State::new(config)));
        let (shutdown, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tagctl-mock-worker")
            .enable_all()
            .build()
            .expect("tagctl-mock: cannot build a tokio runtime");
        let served = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("tagctl-mock".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, served, stopped).await,
                        Err(error) => eprintln!("tagctl-mock: cannot serve: {error}"),
                    }
                });
                // Dropping the runtime here cancels every connection task, closing sockets.
            })
            .expect("tagctl-mock: cannot spawn the server thread");
        MockServer {
            addr,
            state,
            shutdown,
            thread: Some(thread),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues one-shot faults; each is consumed, in order, by the next API request (a
    /// write, a read or a tag operation alike).
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state).faults.extend(faults);
    }

    /// Every finished API request, in arrival order (empty when not recording).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests_in_order()
    }

    /// The finished requests of one operation, in arrival order.
    pub fn requests_of(&self, operation: Operation) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|r| r.operation == operation);
        requests
    }

    /// The IDs of every request answered 204 (tag and untag), in completion order, with
    /// repeats (empty when not recording).
    pub fn accepted_ids(&self) -> Vec<String> {
        lock(&self.state).accepted_ids()
    }

    /// The customers carrying `tag` (any case) now, sorted: the writes in effect (see
    /// `apply_delay`), on customers only (empty when not recording). It scans every
    /// customer, so it briefly holds up the server.
    pub fn tagged(&self, tag: &str) -> BTreeSet<String> {
        lock(&self.state).tagged(tag)
    }

    /// One customer: whether it exists, its tags now, and the writes on it still pending.
    pub fn customer(&self, id: &str) -> CustomerView {
        lock(&self.state).customer_view(id)
    }

    /// Every tag, in creation order, with how many customers carry it now.
    pub fn tags(&self) -> Vec<TagInfo> {
        lock(&self.state).tag_infos()
    }

    /// Creates a tag as `POST /tags` would, without auth; `false` when the name (in any
    /// case) exists already.
    pub fn add_tag(&self, name: &str, kind: TagType) -> bool {
        lock(&self.state).directory.create_tag(name, kind).is_ok()
    }

    /// Accepted writes that have not taken effect yet.
    pub fn pending_writes(&self) -> usize {
        let mut state = lock(&self.state);
        state.settle();
        state.directory.pending_count()
    }

    /// API requests received, whatever their outcome (kept when not recording).
    pub fn request_count(&self) -> u64 {
        lock(&self.state).request_count
    }

    /// IDs of writes answered 204, counted with repeats (kept when not recording).
    pub fn accepted_count(&self) -> u64 {
        lock(&self.state).accepted_count
    }

    /// Changes options at run time; requests already in flight finish with the old ones.
    pub fn set_config(&self, f: impl FnOnce(&mut MockConfig)) {
        lock(&self.state).update_config(f);
    }

    /// A copy of the current options.
    pub fn config(&self) -> MockConfig {
        MockConfig::clone(&lock(&self.state).config)
    }

    /// Forgets requests, customers' tags, created tags, counters, queued faults and the
    /// rate-limit window (as `POST /__mock/reset` does); the options (and seed tags) stay.
    pub fn reset(&self) {
        lock(&self.state).reset();
    }

    /// Stops the server and closes its connections (the same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until shutdown.
async fn serve(
    listener: TcpListener,
    state: Arc<Mutex<State>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&state), stopped.clone()));
            }
            // Usually out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Serves one connection (HTTP/1.1, or HTTP/2 with prior knowledge) until it ends, a
/// handler raises the drop signal, or the server stops. Dropping the connection future
/// closes the socket at once, without a response to whatever is in flight.
async fn connection(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let ctx = ConnContext {
        state,
        drop_now: Arc::new(Notify::new()),
    };
    let drop_now = Arc::clone(&ctx.drop_now);
    let service = service_fn(move |req| handle(req, ctx.clone()));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The handler sends its own (possibly skewed) Date; hyper's would not be skewed.
    builder.http1().auto_date_header(false);
    builder.http2().auto_date_header(false);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        () = drop_now.notified() => {}
        _ = stopped.wait_for(|stop| *stop) => {}
    }
}
