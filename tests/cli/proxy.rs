//! A TCP proxy between the `jones-sync` binary and a real ZooKeeper server, for fault tests. It
//! relays ZooKeeper's length-prefixed frames both ways, parsing just enough of them (the request
//! header's op code, a connect response's session) to break the connection at an exact point:
//! around one `multi` request (op code 14: the transactions an apply commits), one create (lock
//! nodes are plain creates) or one `multiRead` (op code 22: how live state is read). So a test decides whether the
//! transaction reached the server when the connection dropped, and can close the client's session
//! on the server (as expiry does), hold a request while it acts, or take ZooKeeper away for good.
//! It records what the client did ([`Event`]) so a test can check how the client recovered.
//!
//! It runs on the tests' shared tokio runtime, in the test process, while the binary runs as a
//! child process. Every connection the client makes (its reconnects too) goes to the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::zookeeper::runtime;

/// ZooKeeper's op code of a `multi` (write) request.
const OP_MULTI: i32 = 14;
/// ZooKeeper's op code of a `multiRead` request (how jones-sync reads live state).
const OP_MULTI_READ: i32 = 22;
/// ZooKeeper's op codes of create requests (create, create2, createContainer, createTTL).
const OP_CREATES: [i32; 4] = [1, 15, 19, 21];
/// ZooKeeper's op code of `closeSession`.
const OP_CLOSE_SESSION: i32 = -11;
/// ZooKeeper's op code of a ping (the client's heartbeat).
const OP_PING: i32 = 11;

/// What happens to the armed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection is closed instead of forwarding the request: it is never applied.
    CutBefore,
    /// The request is forwarded and the server's reply awaited (so it is applied), then the
    /// connection is closed without relaying the reply: the client cannot know.
    CutAfter,
    /// As [`Fault::CutBefore`], and the client's session is closed on the server before the
    /// connection is (its ephemeral nodes, the locks, vanish; its reconnect finds it expired).
    ExpireBefore,
    /// As [`Fault::CutAfter`], and the session is closed before the connection is.
    ExpireAfter,
    /// The request is held until [`Proxy::resume`], then forwarded: the client is paused at that
    /// point, so a test can act then.
    Pause,
    /// ZooKeeper goes away for good: the request is not forwarded, every connection is closed
    /// and new ones are refused (the proxy stops listening).
    Down,
    /// The request is forwarded (so it is applied), then nothing more from the server reaches the
    /// client on that connection, which stays open (a stalled server or network): the client
    /// gives up on it by itself ("no response from connection") and reconnects.
    Stall,
}

struct Shared {
    /// Set when the proxy goes [`Fault::Down`].
    down: watch::Sender<bool>,
    /// While set, connections are closed as soon as they are accepted (as a server that is not
    /// serving yet does); `refused` counts them.
    refusing: bool,
    refused: watch::Sender<usize>,
    /// Set while a request is held by [`Fault::Pause`], and by [`Proxy::resume`].
    paused: watch::Sender<bool>,
    resumed: watch::Sender<bool>,
    /// Faults still to fire, in order: (fault, multis to let through before it).
    armed: Vec<(Fault, usize)>,
    /// Faults fired so far.
    fired: Vec<Fault>,
    /// Every `multi` seen, faulted or not.
    multis: usize,
    /// The same for `multiRead` requests.
    armed_reads: Vec<(Fault, usize)>,
    reads: usize,
    /// The same for create requests (lock nodes and their parents).
    armed_creates: Vec<(Fault, usize)>,
    creates: usize,
    /// What the client did, in order (see [`Event`]).
    events: Vec<Event>,
    /// The session the server last gave a connection: id and password.
    last_session: Option<(i64, Vec<u8>)>,
    /// Every request but pings, all connections together.
    requests: usize,
}

/// What the proxy saw, for tests that check how the client recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session was established (or re-established): its id.
    Session(i64),
    /// The server refused to re-establish a session: it had expired.
    Expired,
    /// A create request: its path (a lock node, say).
    Create(String),
    /// A `multiRead` request that met a fault (the others are not recorded).
    Read(Fault),
    /// A `multi` (write) request: its first operation (`set /path`, say), and the fault it met.
    Multi(String, Option<Fault>),
}

pub struct Proxy {
    pub port: u16,
    upstream: String,
    shared: Arc<Mutex<Shared>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and relays every connection to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let upstream_address = upstream.to_string();
        let listener = runtime().block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (down, mut gone) = watch::channel(false);
        let shared = Arc::new(Mutex::new(Shared {
            down,
            refusing: false,
            refused: watch::channel(0).0,
            paused: watch::channel(false).0,
            resumed: watch::channel(false).0,
            armed: Vec::new(),
            fired: Vec::new(),
            multis: 0,
            armed_reads: Vec::new(),
            reads: 0,
            armed_creates: Vec::new(),
            creates: 0,
            events: Vec::new(),
            last_session: None,
            requests: 0,
        }));
        let (upstream, state) = (upstream.to_string(), shared.clone());
        let accept = runtime().spawn(async move {
            // Dropping the set (when the proxy is dropped or goes down) ends every connection.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = gone.wait_for(|down| *down) => return,
                };
                let Ok((client, _)) = accepted else { return };
                let shared = state.lock().unwrap();
                if shared.refusing {
                    shared.refused.send_modify(|n| *n += 1);
                    drop(client);
                    continue;
                }
                drop(shared);
                connections.spawn(relay(client, upstream.clone(), state.clone()));
            }
        });
        Proxy { port, upstream: upstream_address, shared, accept }
    }

    /// A proxy that closes every connection at once until [`Proxy::serve`] (a server that is
    /// starting, or an ensemble electing a leader).
    pub fn start_refusing(upstream: &str) -> Proxy {
        let proxy = Proxy::start(upstream);
        proxy.shared.lock().unwrap().refusing = true;
        proxy
    }

    /// Waits until `count` connections were refused.
    pub fn wait_refused(&self, count: usize) {
        let mut refused = self.shared.lock().unwrap().refused.subscribe();
        let waited = runtime().block_on(async move {
            tokio::time::timeout(Duration::from_secs(60), refused.wait_for(|n| *n >= count)).await.map(|_| ())
        });
        waited.expect("the client keeps trying to connect");
    }

    /// Relays connections from now on.
    pub fn serve(&self) {
        self.shared.lock().unwrap().refusing = false;
    }

    /// The connect string of the proxy, followed by `suffix` (a chroot).
    pub fn connect_string(&self, suffix: &str) -> String {
        format!("127.0.0.1:{}{suffix}", self.port)
    }

    /// Arms `fault` for the `multi` request after the next `skip` ones (counting from now, all
    /// connections together). Several armed faults fire in the order they were armed.
    pub fn arm(&self, fault: Fault, skip: usize) {
        let mut shared = self.shared.lock().unwrap();
        let at = shared.multis + skip;
        shared.armed.push((fault, at));
    }

    /// Waits until a request is held by [`Fault::Pause`].
    pub fn wait_paused(&self) {
        let mut paused = self.shared.lock().unwrap().paused.subscribe();
        let waited = runtime().block_on(async move {
            tokio::time::timeout(Duration::from_secs(120), paused.wait_for(|p| *p)).await.map(|_| ())
        });
        waited.expect("the client reaches the paused request");
    }

    /// Forwards the request held by [`Fault::Pause`].
    pub fn resume(&self) {
        self.shared.lock().unwrap().resumed.send_replace(true);
    }

    /// Closes the client's session on the server now (as expiry does: its ephemeral nodes, the
    /// locks, vanish), e.g. while a request is held by [`Fault::Pause`] (a process stalled
    /// longer than its session timeout).
    pub fn expire_session(&self) {
        let (id, password) = self.shared.lock().unwrap().last_session.clone().expect("a session was established");
        // The client must not take its session back (by reconnecting) before it is closed.
        let refusing = std::mem::replace(&mut self.shared.lock().unwrap().refusing, true);
        runtime().block_on(close_session(&self.upstream, id, &password));
        self.shared.lock().unwrap().refusing = refusing;
    }

    /// Closes every new connection at once until [`Proxy::serve`] (ZooKeeper out of reach).
    pub fn refuse(&self) {
        self.shared.lock().unwrap().refusing = true;
    }

    /// Arms `fault` for the `multiRead` request after the next `skip` ones.
    pub fn arm_read(&self, fault: Fault, skip: usize) {
        let mut shared = self.shared.lock().unwrap();
        let at = shared.reads + skip;
        shared.armed_reads.push((fault, at));
    }

    /// Arms `fault` for the create request (a lock node, say) after the next `skip` ones.
    pub fn arm_create(&self, fault: Fault, skip: usize) {
        let mut shared = self.shared.lock().unwrap();
        let at = shared.creates + skip;
        shared.armed_creates.push((fault, at));
    }

    /// The faults that fired so far.
    pub fn fired(&self) -> Vec<Fault> {
        self.shared.lock().unwrap().fired.clone()
    }

    /// How many requests (pings aside) the client sent so far.
    pub fn requests(&self) -> usize {
        self.shared.lock().unwrap().requests
    }

    /// What the proxy saw so far.
    pub fn events(&self) -> Vec<Event> {
        self.shared.lock().unwrap().events.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The fault armed in `armed` for the request numbered `seen` (then counted), if any.
fn take_armed(armed: &mut Vec<(Fault, usize)>, seen: &mut usize, fired: &mut Vec<Fault>) -> Option<Fault> {
    let index = *seen;
    *seen += 1;
    let fault = armed.iter().position(|(_, at)| *at == index).map(|position| armed.remove(position).0);
    fired.extend(fault);
    fault
}

/// The fault for the `multi` being seen now, if one is armed for it.
fn take_fault(shared: &Mutex<Shared>, request: &[u8]) -> Option<Fault> {
    let shared = &mut *shared.lock().unwrap();
    let fault = take_armed(&mut shared.armed, &mut shared.multis, &mut shared.fired);
    shared.events.push(Event::Multi(first_op(request).unwrap_or_default(), fault));
    fault
}

/// The fault for the create request being seen now, if one is armed for it.
fn take_create_fault(shared: &Mutex<Shared>) -> Option<Fault> {
    let shared = &mut *shared.lock().unwrap();
    take_armed(&mut shared.armed_creates, &mut shared.creates, &mut shared.fired)
}

/// The fault for the `multiRead` being seen now, if one is armed for it.
fn take_read_fault(shared: &Mutex<Shared>) -> Option<Fault> {
    let shared = &mut *shared.lock().unwrap();
    let fault = take_armed(&mut shared.armed_reads, &mut shared.reads, &mut shared.fired);
    if let Some(fault) = fault {
        shared.events.push(Event::Read(fault));
    }
    fault
}

fn record(shared: &Mutex<Shared>, event: Event) {
    shared.lock().unwrap().events.push(event);
}

/// The first operation of a `multi` request: after the request header, a multi header (op code,
/// done flag, error) and the operation, whose first field is its path.
fn first_op(request: &[u8]) -> Option<String> {
    let name = match i32_at(request, 8)? {
        1 | 15 | 19 | 21 => "create",
        2 => "delete",
        5 => "set",
        13 => "check",
        other => return Some(format!("op {other}")),
    };
    let len = usize::try_from(i32_at(request, 17)?).ok()?;
    let path = String::from_utf8(request.get(21..21 + len)?.to_vec()).ok()?;
    Some(format!("{name} {path}"))
}

/// The path of a create request (after the request header: a length-prefixed string).
fn create_path(request: &[u8]) -> Option<String> {
    let len = usize::try_from(i32_at(request, 8)?).ok()?;
    String::from_utf8(request.get(12..12 + len)?.to_vec()).ok()
}

/// One ZooKeeper frame's body (without its 4-byte length); `None` at the end of the stream.
async fn read_frame(reader: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let len = reader.read_i32().await.ok()?;
    let mut body = vec![0; usize::try_from(len).ok()?];
    reader.read_exact(&mut body).await.ok()?;
    Some(body)
}

async fn write_frame(writer: &mut OwnedWriteHalf, body: &[u8]) -> std::io::Result<()> {
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    writer.write_all(&frame).await
}

fn i32_at(body: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?))
}

/// The session id and password of a connect response.
fn session_of(response: &[u8]) -> Option<(i64, Vec<u8>)> {
    let id = i64::from_be_bytes(response.get(8..16)?.try_into().ok()?);
    let len = usize::try_from(i32_at(response, 16)?).ok()?;
    Some((id, response.get(20..20 + len)?.to_vec()))
}

/// What the two directions of one relayed connection share.
#[derive(Default)]
struct Link {
    /// The session the server gave this connection: id and password.
    session: Mutex<Option<(i64, Vec<u8>)>>,
    /// The reply to swallow: its xid, and who waits for it.
    swallow: Mutex<Option<(i32, oneshot::Sender<()>)>>,
    /// A fault is in progress: the connection ends when it is done, not before.
    faulting: AtomicBool,
    /// [`Fault::Stall`] fired: nothing more is relayed to the client.
    stalled: AtomicBool,
}

/// Relays one client connection, faulting the armed requests.
async fn relay(client: TcpStream, upstream: String, shared: Arc<Mutex<Shared>>) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set when the connection must end (both directions stop, closing both sockets).
    let (stop, mut stopped) = watch::channel(false);
    let link = Arc::new(Link::default());

    let down = {
        let (link, mut stopped, shared) = (link.clone(), stop.subscribe(), shared.clone());
        async move {
            let mut first = true;
            loop {
                let frame = tokio::select! {
                    frame = read_frame(&mut server_read) => frame,
                    _ = stopped.wait_for(|s| *s) => return,
                };
                let Some(frame) = frame else { break };
                if first {
                    first = false;
                    let established = session_of(&frame).filter(|(id, _)| *id != 0);
                    if established.is_some() {
                        shared.lock().unwrap().last_session.clone_from(&established);
                    }
                    record(&shared, established.as_ref().map_or(Event::Expired, |(id, _)| Event::Session(*id)));
                    *link.session.lock().unwrap() = established;
                } else {
                    let xid = i32_at(&frame, 0);
                    let mut pending = link.swallow.lock().unwrap();
                    if pending.as_ref().is_some_and(|(x, _)| Some(*x) == xid) {
                        let (_, waiter) = pending.take().unwrap();
                        let _ = waiter.send(());
                        continue;
                    }
                }
                if link.stalled.load(Ordering::SeqCst) {
                    continue;
                }
                if write_frame(&mut client_write, &frame).await.is_err() {
                    break;
                }
            }
            // The server closed the connection: pass that on, unless a fault in progress will.
            if link.faulting.load(Ordering::SeqCst) {
                let _ = stopped.wait_for(|s| *s).await;
            }
        }
    };
    let up = async move {
        let mut first = true;
        loop {
            let frame = tokio::select! {
                frame = read_frame(&mut client_read) => frame,
                _ = stopped.wait_for(|s| *s) => return,
            };
            let Some(frame) = frame else { return };
            let op = if first { None } else { i32_at(&frame, 4) };
            first = false;
            if op.is_some_and(|op| op != OP_PING) {
                shared.lock().unwrap().requests += 1;
            }
            if op.is_some_and(|op| OP_CREATES.contains(&op)) {
                record(&shared, Event::Create(create_path(&frame).unwrap_or_default()));
            }
            let fault = match op {
                Some(OP_MULTI) => take_fault(&shared, &frame),
                Some(OP_MULTI_READ) => take_read_fault(&shared),
                Some(op) if OP_CREATES.contains(&op) => take_create_fault(&shared),
                _ => None,
            };
            let Some(fault) = fault else {
                if write_frame(&mut server_write, &frame).await.is_err() {
                    return;
                }
                continue;
            };
            if fault == Fault::Pause {
                let mut resumed = shared.lock().unwrap().resumed.subscribe();
                shared.lock().unwrap().paused.send_replace(true);
                let _ = resumed.wait_for(|r| *r).await;
                if write_frame(&mut server_write, &frame).await.is_err() {
                    return;
                }
                continue;
            }
            if fault == Fault::Down {
                shared.lock().unwrap().down.send_replace(true);
                return;
            }
            if fault == Fault::Stall {
                link.stalled.store(true, Ordering::SeqCst);
                if write_frame(&mut server_write, &frame).await.is_err() {
                    return;
                }
                // Until the client gives up on the connection and closes it.
                while read_frame(&mut client_read).await.is_some() {}
                let _ = stop.send(true);
                return;
            }
            link.faulting.store(true, Ordering::SeqCst);
            if matches!(fault, Fault::CutAfter | Fault::ExpireAfter) {
                let (waiter, replied) = oneshot::channel();
                *link.swallow.lock().unwrap() = Some((i32_at(&frame, 0).unwrap(), waiter));
                if write_frame(&mut server_write, &frame).await.is_ok() {
                    tokio::time::timeout(Duration::from_secs(60), replied)
                        .await
                        .expect("the server answers the request")
                        .expect("the reply is awaited");
                }
            }
            if matches!(fault, Fault::ExpireBefore | Fault::ExpireAfter) {
                let (id, password) = link.session.lock().unwrap().clone().expect("a session was established");
                close_session(&upstream, id, &password).await;
            }
            let _ = stop.send(true);
            return;
        }
    };
    tokio::join!(down, up);
}

/// Closes session `id` on the server from a connection of our own, as its owner could: the
/// server moves the session to this connection (closing the client's), then ends it.
async fn close_session(upstream: &str, id: i64, password: &[u8]) {
    let server = TcpStream::connect(upstream).await.unwrap();
    let (mut read, mut write) = server.into_split();
    let mut connect = Vec::new();
    connect.extend_from_slice(&0i32.to_be_bytes()); // protocol version
    connect.extend_from_slice(&0i64.to_be_bytes()); // last zxid seen
    connect.extend_from_slice(&10_000i32.to_be_bytes()); // session timeout, ms
    connect.extend_from_slice(&id.to_be_bytes());
    connect.extend_from_slice(&(password.len() as i32).to_be_bytes());
    connect.extend_from_slice(password);
    connect.push(0); // not read-only
    write_frame(&mut write, &connect).await.unwrap();
    let response = read_frame(&mut read).await.expect("a connect response");
    assert_eq!(session_of(&response).map(|(id, _)| id), Some(id), "the session is taken over");
    let mut close = Vec::new();
    close.extend_from_slice(&1i32.to_be_bytes()); // xid
    close.extend_from_slice(&OP_CLOSE_SESSION.to_be_bytes());
    write_frame(&mut write, &close).await.unwrap();
    let reply = read_frame(&mut read).await.expect("a reply to closeSession");
    assert_eq!(i32_at(&reply, 12), Some(0), "closeSession succeeds");
}

/// A server that accepts connections and never answers (a hung ZooKeeper): its port.
pub fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = runtime().block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = runtime().spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}
