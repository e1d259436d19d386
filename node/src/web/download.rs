//! Downloads of every row of a view, as CSV, streamed page by page.
//!
//! A download reads one page of the view (on the blocking pool), writes it
//! as CSV and queues it for the connection in frames of at most
//! [`FRAME_BYTES`], then reads the next page once the page's last frame is
//! queued. Whatever the view's size, the node holds for a download the
//! page being read and at most [`QUEUED_FRAMES`] frames (which may keep
//! the two pages they come from), plus what the connection buffers; a
//! client that reads slowly slows the reading down. The first page is read
//! before the answer begins, so that a bad filter is an error page, not a
//! file.
//!
//! Invariants:
//! - At most [`AT_ONCE`] pages are read at one time, by all downloads
//!   together: a read holds its turn until it is over, even when the
//!   client has gone. A turn is taken per page, not per download: a
//!   download whose client reads slowly holds no turn while its frames
//!   wait to be sent.
//! - A download whose first turn does not come within [`FIRST_TURN_WAIT`]
//!   is refused with 503 and `Retry-After`.
//! - A body ends cleanly only after its last page. A later page that
//!   cannot be read (an error, or no turn within [`LATER_TURN_WAIT`]), or
//!   a reading that stops for any other reason, ends it with an error: the
//!   client sees a broken transfer, never a short file that looks whole.
//! - A client that goes away stops the reading at the next page.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::Stream;

use crate::{
    views::{ViewError, ViewInput},
    web::{
        WebApp,
        auth::Ctx,
        pages::{self, csv_line, msg, read_failed, view_error},
        views::{Csv, Tr},
    },
};

/// Pages of downloads being read at once, all downloads together.
const AT_ONCE: usize = 2;
/// How long a download waits for the turn of its first page before it is
/// refused (503).
const FIRST_TURN_WAIT: Duration = Duration::from_secs(15);
/// How long a later page waits for its turn before the download is broken
/// off: well within the connection's send deadline (60 s, `web::doors`),
/// so that the client is told by the error, not by a closed connection.
const LATER_TURN_WAIT: Duration = Duration::from_secs(30);
/// The largest frame of a body: the connection takes a frame at a time,
/// and a frame taken is what shows that the client reads.
const FRAME_BYTES: usize = 64 * 1024;
/// Frames waiting for the client, per download (2 MiB).
const QUEUED_FRAMES: usize = 32;

/// The turns of every download of the node.
static TURNS: Semaphore = Semaphore::const_new(AT_ONCE);

/// How a download reads and writes its pages.
struct Pages<F, S, W, T> {
    /// The turns it takes, one per page.
    turns: &'static Semaphore,
    /// One page of the view.
    fetch: F,
    /// A page's rows and the cursor of the next page.
    split: S,
    /// Rows as CSV cells, in the reader's language.
    write: W,
    /// The reader's language.
    t: T,
}

/// What the reading hands the body.
#[derive(Debug)]
enum Piece {
    /// The next bytes.
    Data(Bytes),
    /// The last page was sent.
    End,
    /// The reading failed: why.
    Failed(String),
}

/// A page as CSV text, and the cursor of the next page.
type Page = (Bytes, Option<String>);

impl<V: 'static, R: 'static, F, S, W, T> Pages<F, S, W, T>
where
    F: Fn(&ViewInput) -> Result<V, ViewError> + Send + Sync + 'static,
    S: Fn(V) -> (Vec<R>, Option<String>) + Send + Sync + 'static,
    W: Fn(&Tr<'_>, &[R]) -> Csv + Send + Sync + 'static,
    T: Fn(&str) -> String + Send + Sync + 'static,
{
    /// The page `input` names as CSV text (after the header line when
    /// `first`), and the cursor of the next page.
    fn read(&self, input: &ViewInput, first: bool) -> Result<Page, ViewError> {
        let (rows, next) = (self.split)((self.fetch)(input)?);
        let csv = (self.write)(&Tr(&self.t), &rows);
        let mut out = String::new();
        if first {
            csv_line(&mut out, csv.head.iter().map(String::as_str));
        }
        for row in &csv.rows {
            csv_line(&mut out, row.iter().map(String::as_str));
        }
        Ok((Bytes::from(out), next))
    }

    /// Reads the page `input` names on the blocking pool, in its turn. The
    /// read holds the turn until it is over, even if this future is
    /// dropped first (a read cannot be stopped).
    async fn read_in_turn(
        self: &Arc<Self>,
        input: &ViewInput,
        first: bool,
        wait: Duration,
    ) -> Result<Page, Refusal> {
        let Ok(Ok(turn)) = tokio::time::timeout(wait, self.turns.acquire()).await else {
            return Err(Refusal::Busy);
        };
        let (pages, input) = (self.clone(), input.clone());
        let read = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            pages.read(&input, first)
        });
        match read.await {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(err)) => Err(Refusal::View(err)),
            Err(_) => Err(Refusal::Failed),
        }
    }

    /// Reads the first page, then sends it and the rest from a task of
    /// their own: the body, or why there is none.
    async fn open(
        self: Arc<Self>,
        mut input: ViewInput,
        name: &'static str,
    ) -> Result<CsvBody, Refusal> {
        input.after.clear();
        let first = self.read_in_turn(&input, true, FIRST_TURN_WAIT).await?;
        let (sender, pieces) = mpsc::channel(QUEUED_FRAMES);
        tokio::spawn(self.send_all(first, input, sender, name));
        Ok(CsvBody {
            pieces,
            over: false,
        })
    }

    /// Sends `first`, then each page after it, until the last, the
    /// client's going away, or a failure (sent as such).
    async fn send_all(
        self: Arc<Self>,
        first: Page,
        mut input: ViewInput,
        sender: mpsc::Sender<Piece>,
        name: &'static str,
    ) {
        let (mut text, mut next) = first;
        let failure = loop {
            if send_frames(&sender, &text).await.is_err() {
                return;
            }
            let Some(after) = next else {
                let _ = sender.send(Piece::End).await;
                return;
            };
            input.after = after;
            let page = tokio::select! {
                page = self.read_in_turn(&input, false, LATER_TURN_WAIT) => page,
                () = sender.closed() => return,
            };
            match page {
                Ok(page) => (text, next) = page,
                Err(Refusal::Busy) => {
                    break format!("no turn to read the next page within {LATER_TURN_WAIT:?}");
                }
                Err(Refusal::View(err)) => break err.to_string(),
                Err(Refusal::Failed) => break "reading a page failed".to_owned(),
            }
        };
        tracing::warn!(download = name, %failure, "web app: a download was broken off");
        let _ = sender.send(Piece::Failed(failure)).await;
    }
}

/// `text` in frames of at most [`FRAME_BYTES`] (slices, not copies);
/// `Err` when the client has gone.
async fn send_frames(sender: &mpsc::Sender<Piece>, text: &Bytes) -> Result<(), ()> {
    let mut at = 0;
    while at < text.len() {
        let end = (at + FRAME_BYTES).min(text.len());
        sender
            .send(Piece::Data(text.slice(at..end)))
            .await
            .map_err(drop)?;
        at = end;
    }
    Ok(())
}

/// A download's body: the frames the reading sends, ended cleanly only by
/// its `End`.
#[derive(Debug)]
struct CsvBody {
    pieces: mpsc::Receiver<Piece>,
    over: bool,
}

impl Stream for CsvBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.over {
            return Poll::Ready(None);
        }
        let piece = ready!(self.pieces.poll_recv(cx));
        Poll::Ready(match piece {
            Some(Piece::Data(bytes)) => Some(Ok(bytes)),
            Some(Piece::End) => {
                self.over = true;
                None
            }
            Some(Piece::Failed(why)) => {
                self.over = true;
                Some(Err(io::Error::other(why)))
            }
            None => {
                self.over = true;
                Some(Err(io::Error::other(
                    "the download's reading stopped before its last page",
                )))
            }
        })
    }
}

/// Why a download did not begin.
#[derive(Debug)]
enum Refusal {
    /// No turn within the wait.
    Busy,
    /// The view refused the filters, or failed.
    View(ViewError),
    /// Reading panicked.
    Failed,
}

/// Every row of a view as `NAME.csv`, read page after page from the first
/// (`input`'s cursor is ignored): `fetch` reads a page, `split` gives its
/// rows and the next page's cursor, `write` makes the rows CSV cells.
pub(crate) async fn csv<V, R, F, S, W>(
    app: &WebApp,
    ctx: &Ctx,
    name: &'static str,
    input: ViewInput,
    fetch: F,
    split: S,
    write: W,
) -> Response
where
    V: 'static,
    R: 'static,
    F: Fn(&ViewInput) -> Result<V, ViewError> + Send + Sync + 'static,
    S: Fn(V) -> (Vec<R>, Option<String>) + Send + Sync + 'static,
    W: Fn(&Tr<'_>, &[R]) -> Csv + Send + Sync + 'static,
{
    let (translator, lang) = (app.clone(), ctx.lang);
    let pages = Arc::new(Pages {
        turns: &TURNS,
        fetch,
        split,
        write,
        t: move |id: &str| msg(&translator, lang, id),
    });
    match pages.open(input, name).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            Body::from_stream(body),
        )
            .into_response(),
        Err(Refusal::Busy) => {
            let text = msg(app, ctx.lang, "downloads-busy-text");
            let mut busy = pages::message(app, ctx, StatusCode::SERVICE_UNAVAILABLE, "busy", text);
            busy.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            busy
        }
        Err(Refusal::View(err)) => view_error(app, ctx, err),
        Err(Refusal::Failed) => read_failed(app, ctx),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use tokio_stream::StreamExt as _;

    use super::*;

    /// Rows `0..rows` in pages of `per_page`, the cursor being the next
    /// row; the page from `fails_at` on fails; the page at `gate_at` waits
    /// for `gate` to open (or close).
    struct Numbers {
        rows: usize,
        per_page: usize,
        fails_at: Option<usize>,
        gate_at: Option<usize>,
        gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
        reads: AtomicUsize,
    }

    impl Numbers {
        fn new(rows: usize, per_page: usize, fails_at: Option<usize>) -> Arc<Self> {
            Arc::new(Self {
                rows,
                per_page,
                fails_at,
                gate_at: None,
                gate: Mutex::new(None),
                reads: AtomicUsize::new(0),
            })
        }

        /// [`Numbers::new`] whose page at `at` waits for the sender
        /// returned.
        fn gated(rows: usize, at: usize) -> (Arc<Self>, std::sync::mpsc::Sender<()>) {
            let (open, gate) = std::sync::mpsc::channel();
            let numbers = Arc::new(Self {
                rows,
                per_page: 1,
                fails_at: None,
                gate_at: Some(at),
                gate: Mutex::new(Some(gate)),
                reads: AtomicUsize::new(0),
            });
            (numbers, open)
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    type Rows = (Vec<usize>, Option<String>);

    #[allow(clippy::type_complexity)]
    fn pages(
        numbers: &Arc<Numbers>,
        turns: &'static Semaphore,
    ) -> Arc<
        Pages<
            impl Fn(&ViewInput) -> Result<Rows, ViewError> + Send + Sync + 'static,
            impl Fn(Rows) -> Rows + Send + Sync + 'static,
            impl Fn(&Tr<'_>, &[usize]) -> Csv + Send + Sync + 'static,
            impl Fn(&str) -> String + Send + Sync + 'static,
        >,
    > {
        let numbers = numbers.clone();
        Arc::new(Pages {
            turns,
            fetch: move |input: &ViewInput| {
                numbers.reads.fetch_add(1, Ordering::SeqCst);
                let from: usize = input.after.parse().unwrap_or(0);
                if numbers.gate_at == Some(from)
                    && let Some(gate) = numbers.gate.lock().unwrap().take()
                {
                    let _ = gate.recv();
                }
                if numbers.fails_at.is_some_and(|at| from >= at) {
                    return Err(ViewError::BadFilter(format!("page at {from} fails")));
                }
                let to = (from + numbers.per_page).min(numbers.rows);
                Ok((
                    (from..to).collect(),
                    (to < numbers.rows).then(|| to.to_string()),
                ))
            },
            split: |page: Rows| page,
            write: |tr: &Tr<'_>, rows: &[usize]| Csv {
                head: vec![tr.t("col-member"), "=formula".into()],
                rows: rows
                    .iter()
                    .map(|n| vec![n.to_string(), "x".into()])
                    .collect(),
            },
            t: |id: &str| format!("[{id}]"),
        })
    }

    fn turns() -> &'static Semaphore {
        Box::leak(Box::new(Semaphore::new(AT_ONCE)))
    }

    /// Everything the body gives, and the error it ended with, if any.
    /// Every frame is at most [`FRAME_BYTES`].
    async fn drain(mut body: CsvBody) -> (String, Option<String>) {
        let mut text = String::new();
        while let Some(frame) = body.next().await {
            match frame {
                Ok(bytes) => {
                    assert!(bytes.len() <= FRAME_BYTES, "a frame of {}", bytes.len());
                    text.push_str(std::str::from_utf8(&bytes).unwrap());
                }
                Err(err) => {
                    assert!(body.next().await.is_none(), "nothing after the error");
                    return (text, Some(err.to_string()));
                }
            }
        }
        (text, None)
    }

    const HEAD: &str = "[col-member],'=formula\r\n";

    fn expected(rows: std::ops::Range<usize>) -> String {
        rows.map(|n| format!("{n},x\r\n")).collect()
    }

    /// Polls `done` every 5 ms for up to 20 s.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_page_is_sent_in_order_under_one_header_in_bounded_frames() {
        let numbers = Numbers::new(10, 3, None);
        let input = ViewInput {
            after: "7".into(),
            ..Default::default()
        };
        let body = pages(&numbers, turns()).open(input, "test").await.unwrap();
        assert_eq!(
            drain(body).await,
            (format!("{HEAD}{}", expected(0..10)), None)
        );
        assert_eq!(
            numbers.reads(),
            4,
            "pages of 3 rows from the first, not from 7"
        );

        // One page: the body is that page; no row: the header alone.
        for (rows, text) in [(2, expected(0..2)), (0, String::new())] {
            let numbers = Numbers::new(rows, 3, None);
            let body = pages(&numbers, turns()).open(ViewInput::default(), "test");
            assert_eq!(
                drain(body.await.unwrap()).await,
                (format!("{HEAD}{text}"), None)
            );
        }

        // Pages of 200 kB go in frames of 64 KiB at most, nothing lost.
        let numbers = Numbers::new(90_000, 30_000, None);
        let body = pages(&numbers, turns()).open(ViewInput::default(), "test");
        let (text, failure) = drain(body.await.unwrap()).await;
        assert_eq!(failure, None);
        assert!(
            text == format!("{HEAD}{}", expected(0..90_000)),
            "{} bytes",
            text.len()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_stops_reading_stops_the_reading_and_holds_no_turn() {
        let numbers = Numbers::new(1_000, 1, None);
        let turns = turns();
        let pages = pages(&numbers, turns);
        let mut body = pages
            .clone()
            .open(ViewInput::default(), "test")
            .await
            .unwrap();
        assert!(body.next().await.is_some());
        // The reading runs ahead of the client by the queue and the page
        // waiting to join it (a frame each here), then waits without a turn.
        until("the queue fills", || numbers.reads() >= 2 + QUEUED_FRAMES).await;
        until("no turn is held", || turns.available_permits() == AT_ONCE).await;
        // The client goes away: the reading stops, and lets go of the pages.
        drop(body);
        until("the reading stops", || Arc::strong_count(&pages) == 1).await;
        assert_eq!(numbers.reads(), 2 + QUEUED_FRAMES, "pages read");
        assert_eq!(turns.available_permits(), AT_ONCE);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_holds_its_turn_until_it_is_over_even_when_the_client_has_gone() {
        let (numbers, open) = Numbers::gated(10, 1);
        let turns = turns();
        let pages = pages(&numbers, turns);
        let body = pages
            .clone()
            .open(ViewInput::default(), "test")
            .await
            .unwrap();
        until("the second page is being read", || {
            turns.available_permits() == AT_ONCE - 1
        })
        .await;
        // The client goes away while the page is read: the sending stops
        // (the read alone still holds the pages), the turn stays taken.
        drop(body);
        until("the sending stops", || Arc::strong_count(&pages) == 2).await;
        assert_eq!(turns.available_permits(), AT_ONCE - 1);
        // The read ends: its turn is given back.
        open.send(()).unwrap();
        until("the read ends", || Arc::strong_count(&pages) == 1).await;
        assert_eq!(turns.available_permits(), AT_ONCE);
        assert_eq!(numbers.reads(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_ends_cleanly_only_after_its_last_page() {
        // A later page fails: the rows before it, then the error.
        let numbers = Numbers::new(10, 3, Some(6));
        let body = pages(&numbers, turns()).open(ViewInput::default(), "test");
        let (text, failure) = drain(body.await.unwrap()).await;
        assert_eq!(text, format!("{HEAD}{}", expected(0..6)));
        assert_eq!(failure.as_deref(), Some("page at 6 fails"));

        // The first page fails: no body, the view's refusal.
        let first = Numbers::new(10, 3, Some(0));
        let refusal = pages(&first, turns())
            .open(ViewInput::default(), "test")
            .await;
        assert!(
            matches!(refusal, Err(Refusal::View(ViewError::BadFilter(ref text))) if text == "page at 0 fails"),
            "{refusal:?}"
        );

        // The reading stops without its end (a task cancelled): an error.
        let (sender, pieces) = mpsc::channel(4);
        sender
            .send(Piece::Data(Bytes::from("a,b\r\n")))
            .await
            .unwrap();
        drop(sender);
        let (text, failure) = drain(CsvBody {
            pieces,
            over: false,
        })
        .await;
        assert_eq!(text, "a,b\r\n");
        assert_eq!(
            failure.as_deref(),
            Some("the download's reading stopped before its last page")
        );
    }

    /// Over HTTP/1.1, a body that ends with an error is cut off without
    /// its last chunk: the client sees a broken transfer, not a whole file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_http_a_broken_body_lacks_its_last_chunk() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        /// The raw answer to a download whose body sends a row, then
        /// `last` once the client has the row.
        async fn answer(last: Piece) -> String {
            let (sender, pieces) = mpsc::channel(4);
            sender
                .send(Piece::Data(Bytes::from("a,b\r\n")))
                .await
                .unwrap();
            let body = Arc::new(Mutex::new(Some(CsvBody {
                pieces,
                over: false,
            })));
            let app = axum::Router::new().route(
                "/",
                axum::routing::get(move || {
                    let body = body.lock().unwrap().take().unwrap();
                    async move { Body::from_stream(body) }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut bytes = Vec::new();
            let mut buffer = [0; 4096];
            while !String::from_utf8_lossy(&bytes).contains("\r\na,b\r\n") {
                let read = stream.read(&mut buffer);
                let n = tokio::time::timeout(Duration::from_secs(20), read)
                    .await
                    .expect("the row within 20 s")
                    .unwrap();
                assert!(n > 0, "closed before the row: {bytes:?}");
                bytes.extend_from_slice(&buffer[..n]);
            }
            sender.send(last).await.unwrap();
            // Until the server closes (a reset is an error; what came stays).
            let read = stream.read_to_end(&mut bytes);
            let _ = tokio::time::timeout(Duration::from_secs(20), read).await;
            String::from_utf8(bytes).unwrap()
        }
        let whole = answer(Piece::End).await;
        assert!(whole.contains("transfer-encoding: chunked"), "{whole:?}");
        assert!(whole.ends_with("\r\na,b\r\n\r\n0\r\n\r\n"), "{whole:?}");
        let broken = answer(Piece::Failed("a page failed".into())).await;
        assert!(broken.contains("\r\na,b\r\n"), "{broken:?}");
        assert!(!broken.ends_with("0\r\n\r\n"), "{broken:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_download_without_a_turn_within_the_wait_is_refused() {
        let turns = turns();
        let _held = turns.acquire_many(AT_ONCE as u32).await.unwrap();
        let numbers = Numbers::new(10, 3, None);
        let started = tokio::time::Instant::now();
        let refusal = pages(&numbers, turns)
            .open(ViewInput::default(), "test")
            .await;
        assert!(matches!(refusal, Err(Refusal::Busy)), "{refusal:?}");
        assert_eq!(started.elapsed(), FIRST_TURN_WAIT);
        assert_eq!(numbers.reads(), 0);
    }
}
