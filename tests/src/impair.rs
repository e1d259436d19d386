//! A user-space impairment relay: the hub of a test network that delays and
//! drops real Ethernet frames, for kernels without `sch_netem`.
//!
//! Each node's link is a veth pair whose outer end lives in a hub namespace
//! instead of on a bridge. The relay reads every frame arriving at an outer
//! end through an `AF_PACKET` socket bound to it and writes it to the port
//! where its destination MAC was last seen as a source (to every other port,
//! as a hub does, while unknown), never back to the port it came from. A
//! frame between two impaired ports is dropped with probability `loss`, and
//! otherwise held `delay` on a timer queue before it is written; frames to or
//! from an unimpaired port (the test's own) pass at once. So real TCP between
//! real nodes sees real loss, retransmits and a round trip of twice the
//! delay: unlike a TCP proxy, nothing here hides a lost segment.
//!
//! The sockets carry a virtio-net header (`PACKET_VNET_HDR`) that the relay
//! passes through untouched, so a frame whose checksum the sender left to
//! "hardware" (veth offloads) arrives as such, as over a bridge. The links
//! should be set up with `gso_max_segs 1` so that each frame is one packet
//! and a drop loses one packet, not a 64 KiB burst; `RelayCounts::gso`
//! says whether any super-frame went through anyway.
//!
//! A port whose link is down (a partition) reads nothing and its writes fail
//! (`RelayCounts::unsent`); the socket picks up again when the link comes
//! back.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    fmt,
    fs::File,
    io::{self, BufWriter, ErrorKind, Write as _},
    net::{IpAddr, SocketAddr, UdpSocket},
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use packet::{PACKET_OUTGOING, PacketSocket, VNET_HDR_LEN};

/// How often a waiting relay thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Large enough for any frame a veth can hand over, GSO included.
const MAX_FRAME: usize = VNET_HDR_LEN + 128 * 1024;

/// What the relay does to a frame between two impaired ports.
#[derive(Clone, Copy, Debug)]
pub struct Impairment {
    /// How long each frame is held (one way: a round trip pays it twice).
    pub delay: Duration,
    /// The probability that a frame is dropped.
    pub loss: f64,
    /// Seed of the loss draws (one generator per port, seeded from it).
    pub seed: u64,
}

impl Impairment {
    /// `delay` and `loss`, seeded from `FOCAL_IMPAIR_SEED` if set (to repeat
    /// a run's draws), else from the clock.
    pub fn seeded(delay: Duration, loss: f64) -> Self {
        let seed = std::env::var("FOCAL_IMPAIR_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        Self { delay, loss, seed }
    }
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ms delay each way, {:.1} % loss per frame (seed {}: FOCAL_IMPAIR_SEED={} repeats the draws)",
            self.delay.as_millis(),
            self.loss * 100.0,
            self.seed,
            self.seed
        )
    }
}

/// One port of the relay: an interface in the hub namespace.
#[derive(Clone, Debug)]
pub struct Port {
    pub interface: String,
    /// Whether frames between this port and another impaired one are
    /// delayed and dropped.
    pub impaired: bool,
}

/// What the relay did since it started, in frames (a flooded frame counts
/// once per port it is written to).
#[derive(Clone, Copy, Debug, Default)]
pub struct RelayCounts {
    /// Frames read from the ports.
    pub received: u64,
    /// Frames between two impaired ports (each either dropped or delayed).
    pub impaired: u64,
    /// Of those, dropped by the loss draw.
    pub dropped: u64,
    /// Frames written without delay (to or from an unimpaired port).
    pub passed: u64,
    /// Writes that failed (a link down: a partition).
    pub unsent: u64,
    /// GSO super-frames seen (should be 0 with `gso_max_segs 1`).
    pub gso: u64,
}

impl fmt::Display for RelayCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dropped = if self.impaired == 0 {
            0.0
        } else {
            self.dropped as f64 * 100.0 / self.impaired as f64
        };
        write!(
            f,
            "{} frames read; {} between members, {} of them dropped ({dropped:.2} %); \
             {} passed unimpaired; {} unsent (link down); {} GSO",
            self.received, self.impaired, self.dropped, self.passed, self.unsent, self.gso
        )
    }
}

/// The live counts behind `RelayCounts`, bumped by every relay thread.
#[derive(Default)]
struct Counters {
    received: AtomicU64,
    impaired: AtomicU64,
    dropped: AtomicU64,
    passed: AtomicU64,
    unsent: AtomicU64,
    gso: AtomicU64,
}

/// A frame on the timer queue, ordered by when it is due (then by arrival).
struct Held {
    due: Instant,
    seq: u64,
    port: usize,
    frame: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// What the relay's threads share.
struct Hub {
    sockets: Vec<PacketSocket>,
    ports: Vec<Port>,
    impairment: Impairment,
    /// Source MAC → the port it was last seen on.
    macs: Mutex<HashMap<[u8; 6], usize>>,
    counters: Counters,
    /// Numbers held frames, so that frames due at the same instant leave
    /// in the order they came.
    next_seq: AtomicU64,
    stop: AtomicBool,
    /// The first error that stopped a port's thread.
    failure: Mutex<Option<String>>,
    /// When the relay started: the clock of the trace.
    started: Instant,
    trace: Option<Mutex<BufWriter<File>>>,
}

/// The running relay; stops (and joins its threads) on drop.
pub struct Relay {
    hub: Arc<Hub>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Opens a socket on each of `ports` (interfaces of network namespace
    /// `namespace`, as `ip netns` names it) and starts relaying: one thread
    /// per port reading, one writing what the timer queue releases. With
    /// `trace`, every frame between two impaired ports is also described in
    /// that file, one line each: the relay's clock (seconds), the ports,
    /// `DROP` or `held`, and the frame (ARP, or IPv4 TCP with flags, seq,
    /// ack, and payload length).
    pub fn start(
        namespace: &str,
        ports: Vec<Port>,
        impairment: Impairment,
        trace: Option<&Path>,
    ) -> io::Result<Self> {
        let trace = match trace {
            None => None,
            Some(path) => {
                let mut file = BufWriter::new(File::create(path)?);
                writeln!(file, "# {impairment}")?;
                for (i, port) in ports.iter().enumerate() {
                    let impaired = if port.impaired {
                        "impaired"
                    } else {
                        "not impaired"
                    };
                    writeln!(file, "# port {i}: {} ({impaired})", port.interface)?;
                }
                Some(file)
            }
        };
        let names: Vec<String> = ports.iter().map(|p| p.interface.clone()).collect();
        let sockets = in_namespace(namespace, move || {
            names
                .iter()
                .map(|name| PacketSocket::bind(name))
                .collect::<io::Result<Vec<_>>>()
        })??;
        let hub = Arc::new(Hub {
            sockets,
            ports,
            impairment,
            macs: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            next_seq: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            failure: Mutex::new(None),
            started: Instant::now(),
            trace: trace.map(Mutex::new),
        });
        let (queue, timer) = mpsc::channel();
        let mut threads = Vec::new();
        for port in 0..hub.ports.len() {
            let hub = hub.clone();
            let queue = queue.clone();
            threads.push(
                thread::Builder::new()
                    .name(format!("relay-{}", hub.ports[port].interface))
                    .spawn(move || hub.read_port(port, &queue))?,
            );
        }
        drop(queue);
        let timer_hub = hub.clone();
        threads.push(
            thread::Builder::new()
                .name("relay-timer".into())
                .spawn(move || timer_hub.release_held(&timer))?,
        );
        Ok(Self { hub, threads })
    }

    /// The relay's clock (since it started): the time base of its trace.
    pub fn clock(&self) -> Duration {
        self.hub.started.elapsed()
    }

    /// What the relay has done so far. Panics if a port's thread failed: a
    /// relay that stopped forwarding must not pass for a partition.
    pub fn counts(&self) -> RelayCounts {
        if let Some(failure) = self.hub.failure.lock().unwrap().as_ref() {
            panic!("the impairment relay failed: {failure}");
        }
        let c = &self.hub.counters;
        RelayCounts {
            received: c.received.load(Ordering::Relaxed),
            impaired: c.impaired.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            passed: c.passed.load(Ordering::Relaxed),
            unsent: c.unsent.load(Ordering::Relaxed),
            gso: c.gso.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.hub.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(trace) = &self.hub.trace {
            let _ = trace.lock().unwrap().flush();
        }
    }
}

impl Hub {
    /// Reads port `port` until stopped, forwarding what arrives.
    fn read_port(&self, port: usize, queue: &mpsc::Sender<Held>) {
        let mut buf = vec![0u8; MAX_FRAME];
        let mut draws = SplitMix64(
            self.impairment.seed ^ (port as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        while !self.stop.load(Ordering::Relaxed) {
            let (len, kind) = match self.sockets[port].recv(&mut buf) {
                Ok(read) => read,
                // The receive timeout, or the link going down (the socket
                // rejoins when it comes back up).
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) || e.raw_os_error() == Some(libc::ENETDOWN) =>
                {
                    continue;
                }
                Err(e) => {
                    let mut failure = self.failure.lock().unwrap();
                    failure.get_or_insert_with(|| {
                        format!("reading {}: {e}", self.ports[port].interface)
                    });
                    return;
                }
            };
            let arrived = Instant::now();
            // Frames leaving through this port (the relay's own writes),
            // should the kernel show them despite PACKET_IGNORE_OUTGOING:
            // only what arrives is relayed.
            if kind == PACKET_OUTGOING || len < VNET_HDR_LEN + 14 {
                continue;
            }
            self.counters.received.fetch_add(1, Ordering::Relaxed);
            self.forward(port, &buf[..len], arrived, &mut draws, queue);
        }
    }

    /// Sends a frame read from port `from` on its way.
    fn forward(
        &self,
        from: usize,
        frame: &[u8],
        arrived: Instant,
        draws: &mut SplitMix64,
        queue: &mpsc::Sender<Held>,
    ) {
        // virtio_net_hdr: flags, gso_type, …; then the Ethernet header.
        if frame[1] != 0 {
            self.counters.gso.fetch_add(1, Ordering::Relaxed);
        }
        let ethernet = &frame[VNET_HDR_LEN..];
        let mac = |at: usize| -> [u8; 6] { ethernet[at..at + 6].try_into().unwrap() };
        let (destination, source) = (mac(0), mac(6));
        let to = {
            let mut macs = self.macs.lock().unwrap();
            if source[0] & 1 == 0 {
                macs.insert(source, from);
            }
            if destination[0] & 1 == 0 {
                macs.get(&destination).copied()
            } else {
                None
            }
        };
        match to {
            // Never back where it came from.
            Some(to) if to == from => {}
            Some(to) => self.deliver(from, to, frame, arrived, draws, queue),
            None => {
                for to in (0..self.ports.len()).filter(|to| *to != from) {
                    self.deliver(from, to, frame, arrived, draws, queue);
                }
            }
        }
    }

    /// One copy of a frame, from port `from` to port `to`: dropped, held, or
    /// written at once.
    fn deliver(
        &self,
        from: usize,
        to: usize,
        frame: &[u8],
        arrived: Instant,
        draws: &mut SplitMix64,
        queue: &mpsc::Sender<Held>,
    ) {
        if !(self.ports[from].impaired && self.ports[to].impaired) {
            self.counters.passed.fetch_add(1, Ordering::Relaxed);
            self.write(to, frame);
            return;
        }
        self.counters.impaired.fetch_add(1, Ordering::Relaxed);
        if draws.unit() < self.impairment.loss {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            self.trace(arrived, from, to, "DROP", frame);
            return;
        }
        self.trace(arrived, from, to, "held", frame);
        let _ = queue.send(Held {
            due: arrived + self.impairment.delay,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            port: to,
            frame: frame.to_vec(),
        });
    }

    /// One line of the trace (if one is kept) about a frame between two
    /// impaired ports.
    fn trace(&self, arrived: Instant, from: usize, to: usize, verdict: &str, frame: &[u8]) {
        if let Some(trace) = &self.trace {
            let at = (arrived - self.started).as_secs_f64();
            let what = describe(&frame[VNET_HDR_LEN..]);
            let _ = writeln!(
                trace.lock().unwrap(),
                "{at:.3} {from}->{to} {verdict} {what}"
            );
        }
    }

    fn write(&self, to: usize, frame: &[u8]) {
        if self.sockets[to].send(frame).is_err() {
            self.counters.unsent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes each held frame when it is due, until stopped.
    fn release_held(&self, timer: &mpsc::Receiver<Held>) {
        let mut held = BinaryHeap::new();
        loop {
            let now = Instant::now();
            while held
                .peek()
                .is_some_and(|Reverse(first): &Reverse<Held>| first.due <= now)
            {
                let Reverse(due) = held.pop().unwrap();
                self.write(due.port, &due.frame);
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let wait = held
                .peek()
                .map_or(POLL, |Reverse(first)| (first.due - now).min(POLL));
            match timer.recv_timeout(wait) {
                Ok(frame) => held.push(Reverse(frame)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) if held.is_empty() => return,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    thread::sleep(wait);
                }
            }
        }
    }
}

/// A frame in a few words: ARP, or IPv4 TCP as `tcpdump` would put it.
fn describe(ethernet: &[u8]) -> String {
    let be16 = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let ipv4 = |b: &[u8], at: usize| format!("{}.{}.{}.{}", b[at], b[at + 1], b[at + 2], b[at + 3]);
    match be16(ethernet, 12) {
        0x0806 if ethernet.len() >= 42 => {
            let op = if be16(ethernet, 20) == 1 {
                "who-has"
            } else {
                "reply"
            };
            format!(
                "ARP {op} {} from {}",
                ipv4(ethernet, 38),
                ipv4(ethernet, 28)
            )
        }
        0x0800 if ethernet.len() >= 34 => {
            let ip = &ethernet[14..];
            let header = usize::from(ip[0] & 0x0f) * 4;
            let (from, to) = (ipv4(ip, 12), ipv4(ip, 16));
            if ip[9] != 6 || ip.len() < header + 20 {
                return format!("IPv4 protocol {} {from} > {to}", ip[9]);
            }
            let tcp = &ip[header..];
            let flags: String = [
                (0x02, 'S'),
                (0x01, 'F'),
                (0x04, 'R'),
                (0x08, 'P'),
                (0x10, '.'),
            ]
            .iter()
            .filter(|(bit, _)| tcp[13] & bit != 0)
            .map(|(_, flag)| *flag)
            .collect();
            let payload =
                usize::from(be16(ip, 2)).saturating_sub(header + usize::from(tcp[12] >> 4) * 4);
            format!(
                "TCP {from}:{} > {to}:{} [{flags}] seq {} ack {} len {payload}",
                be16(tcp, 0),
                be16(tcp, 2),
                be32(tcp, 4),
                be32(tcp, 8)
            )
        }
        other => format!("ethertype {other:04x}"),
    }
}

/// A small seeded generator (SplitMix64): the loss draws must be repeatable
/// from the printed seed, and need nothing stronger.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs `f` on a thread that has joined network namespace `namespace` (as
/// `ip netns` names it): sockets it opens belong to that namespace, and keep
/// working from any thread afterwards.
pub fn in_namespace<T: Send>(namespace: &str, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let path = format!("/run/netns/{namespace}");
    let file =
        std::fs::File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    thread::scope(|scope| {
        scope
            .spawn(move || {
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| io::Error::other(format!("setns {path}: {e}")))?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Round trips of UDP probes between two namespaces: what a packet between
/// two members really sees.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Probes sent.
    pub sent: usize,
    /// Round-trip times of the probes answered, sorted.
    pub round_trips: Vec<Duration>,
}

impl Probe {
    /// Sends `count` probes, one every `interval`, from `from` (a namespace
    /// and an address in it) to an echo on `to`, and waits up to `linger`
    /// after the last for the answers. Waits first (up to `deadline`) for
    /// one answer, so that ARP has resolved through the relay.
    pub fn run(
        from: (&str, IpAddr),
        to: (&str, IpAddr),
        count: u32,
        interval: Duration,
        linger: Duration,
        deadline: Duration,
    ) -> io::Result<Self> {
        let echo = in_namespace(to.0, || UdpSocket::bind((to.1, 0)))??;
        echo.set_read_timeout(Some(POLL))?;
        let echo_at = echo.local_addr()?;
        let prober = in_namespace(from.0, || UdpSocket::bind((from.1, 0)))??;
        prober.connect(echo_at)?;
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            scope.spawn(|| {
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, peer)) = echo.recv_from(&mut buf) {
                        let _ = echo.send_to(&buf[..n], peer);
                    }
                }
            });
            let result = Self::send_probes(&prober, echo_at, count, interval, linger, deadline);
            stop.store(true, Ordering::Relaxed);
            result
        })
    }

    fn send_probes(
        prober: &UdpSocket,
        echo_at: SocketAddr,
        count: u32,
        interval: Duration,
        linger: Duration,
        deadline: Duration,
    ) -> io::Result<Self> {
        let mut buf = [0u8; 64];
        // Warm-up: 4-byte probes, until one comes back.
        let started = Instant::now();
        'warm: loop {
            if started.elapsed() > deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("no answer from {echo_at} within {deadline:?}"),
                ));
            }
            prober.send(b"warm")?;
            let wait_until = Instant::now() + Duration::from_secs(1);
            while let Some(left) = wait_until.checked_duration_since(Instant::now()) {
                prober.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
                if let Ok(4) = prober.recv(&mut buf) {
                    break 'warm;
                }
            }
        }
        // The probes: "seq:" and a sequence number; answered ones timed.
        let started = Instant::now();
        let mut answered: Vec<Option<Duration>> = vec![None; count as usize];
        let sent_at = |seq: u32| started + interval * seq;
        let end = sent_at(count.saturating_sub(1)) + linger;
        let mut next = 0u32;
        loop {
            let now = Instant::now();
            if next < count && sent_at(next) <= now {
                let mut probe = *b"seq:\0\0\0\0";
                probe[4..].copy_from_slice(&next.to_be_bytes());
                prober.send(&probe)?;
                next += 1;
                continue;
            }
            if now >= end || (next == count && answered.iter().all(Option::is_some)) {
                break;
            }
            let until = if next < count { sent_at(next) } else { end };
            prober.set_read_timeout(Some((until - now).max(Duration::from_millis(1))))?;
            if let Ok(8) = prober.recv(&mut buf)
                && buf.starts_with(b"seq:")
            {
                let seq = u32::from_be_bytes(buf[4..8].try_into().unwrap());
                if let Some(slot) = answered.get_mut(seq as usize) {
                    slot.get_or_insert(Instant::now() - sent_at(seq));
                }
            }
        }
        let mut round_trips: Vec<Duration> = answered.into_iter().flatten().collect();
        round_trips.sort();
        Ok(Self {
            sent: count as usize,
            round_trips,
        })
    }

    /// The share of probes never answered.
    pub fn loss(&self) -> f64 {
        1.0 - self.round_trips.len() as f64 / self.sent as f64
    }

    /// The fastest round trip.
    pub fn min(&self) -> Option<Duration> {
        self.round_trips.first().copied()
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
        let n = self.round_trips.len();
        // Lost either way: one-way loss p gives 1 - (1 - p)² round trip.
        let one_way = 1.0 - (1.0 - self.loss()).sqrt();
        write!(
            f,
            "{n}/{} probes answered: round-trip loss {:.1} % (≈ {:.1} % each way); \
             RTT min {:.1} ms, median {:.1} ms, max {:.1} ms",
            self.sent,
            self.loss() * 100.0,
            one_way * 100.0,
            ms(self.round_trips.first()),
            ms(self.round_trips.get(n / 2)),
            ms(self.round_trips.last()),
        )
    }
}

/// The `AF_PACKET` socket, the only unsafe code of the tests: libc calls on
/// a descriptor this type owns.
#[allow(unsafe_code)]
mod packet {
    use std::{
        ffi::CString,
        io, mem,
        os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    };

    /// `struct virtio_net_hdr`, before every frame read or written.
    pub(super) const VNET_HDR_LEN: usize = 10;
    /// `sll_pkttype` of a frame the host sent out of the interface.
    pub(super) const PACKET_OUTGOING: u8 = 4;

    /// A raw packet socket bound to one interface: reads what arrives there,
    /// writes out of it.
    pub(super) struct PacketSocket(OwnedFd);

    fn check(result: libc::c_int) -> io::Result<libc::c_int> {
        if result < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(result)
        }
    }

    impl PacketSocket {
        /// Binds to `interface` of the calling thread's network namespace.
        pub(super) fn bind(interface: &str) -> io::Result<Self> {
            let name = CString::new(interface)?;
            // SAFETY: a NUL-terminated string that outlives the call.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if index == 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(
                    e.kind(),
                    format!("interface {interface}: {e}"),
                ));
            }
            // Protocol 0: nothing is received until bound to the interface.
            // SAFETY: a plain system call; the descriptor is owned at once.
            let fd = check(unsafe {
                libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
            })?;
            // SAFETY: `fd` is a fresh descriptor nothing else owns.
            let socket = Self(unsafe { OwnedFd::from_raw_fd(fd) });
            socket.set(libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1)?;
            // Linux ≥ 4.20; `PACKET_OUTGOING` is checked on every frame anyway.
            let _ = socket.set(libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1);
            // Room for a burst while the reading thread waits for a core.
            socket
                .set(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 4 << 20)
                .or_else(|_| socket.set(libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20))?;
            let timeout = libc::timeval {
                tv_sec: 0,
                tv_usec: super::POLL.as_micros() as libc::suseconds_t,
            };
            // SAFETY: the option's value is a timeval of the size given.
            check(unsafe {
                libc::setsockopt(
                    socket.0.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&raw const timeout).cast(),
                    mem::size_of::<libc::timeval>() as libc::socklen_t,
                )
            })?;
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut address: libc::sockaddr_ll = unsafe { mem::zeroed() };
            address.sll_family = libc::AF_PACKET as u16;
            address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
            address.sll_ifindex = index as i32;
            // SAFETY: a sockaddr_ll of the size given.
            check(unsafe {
                libc::bind(
                    socket.0.as_raw_fd(),
                    (&raw const address).cast(),
                    mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            })
            .map_err(|e| io::Error::new(e.kind(), format!("bind to {interface}: {e}")))?;
            Ok(socket)
        }

        fn set(
            &self,
            level: libc::c_int,
            option: libc::c_int,
            value: libc::c_int,
        ) -> io::Result<()> {
            // SAFETY: the option's value is a c_int of the size given.
            check(unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    level,
                    option,
                    (&raw const value).cast(),
                    mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            })
            .map(drop)
        }

        /// Reads one frame (virtio-net header first) into `buf`: its length
        /// and its packet type (`sll_pkttype`).
        pub(super) fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, u8)> {
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
            let mut from_len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: `buf` is writable for its length; `from` for `from_len`.
            let n = unsafe {
                libc::recvfrom(
                    self.0.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw mut from).cast(),
                    &mut from_len,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok((n as usize, from.sll_pkttype))
        }

        /// Writes one frame (virtio-net header first) out of the interface.
        pub(super) fn send(&self, frame: &[u8]) -> io::Result<()> {
            // SAFETY: `frame` is readable for its length.
            let n =
                unsafe { libc::send(self.0.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }
}
