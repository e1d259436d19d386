//! Downloads of every row of a view, as CSV, streamed page by page.
//!
//! A download reads one page of the view (on the blocking pool), writes it
//! as CSV and hands it to the connection before it reads the next: the
//! node holds one page and at most [`QUEUED`] written pages of a download,
//! whatever the view's size, and a client that reads slowly slows the
//! reading down. The first page is read before the answer begins, so that
//! a bad filter is an error page, not a file.
//!
//! Invariants:
//! - At most [`AT_ONCE`] pages are read at one time, by all downloads
//!   together. A turn is taken per page, not per download: a
//!   download whose client reads slowly holds no turn while its pages wait
//!   to be sent.
//! - A download whose first turn does not come within [`FIRST_TURN_WAIT`]
//!   is refused with 503 and `Retry-After`.
//! - Once the answer has begun, a page that cannot be read (an error, or
//!   no turn within [`LATER_TURN_WAIT`]) ends the body with an error: the
//!   client sees a broken transfer, never a short file that looks whole.
//! - A client that goes away stops the reading at the next page.

use std::{io, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;

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
/// off.
const LATER_TURN_WAIT: Duration = Duration::from_secs(60);
/// Written pages waiting for the client, per download.
const QUEUED: usize = 2;

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

impl<V: 'static, R: 'static, F, S, W, T> Pages<F, S, W, T>
where
    F: Fn(&ViewInput) -> Result<V, ViewError> + Send + Sync + 'static,
    S: Fn(V) -> (Vec<R>, Option<String>) + Send + Sync + 'static,
    W: Fn(&Tr<'_>, &[R]) -> Csv + Send + Sync + 'static,
    T: Fn(&str) -> String + Send + Sync + 'static,
{
    /// The page `input` names as CSV text (after the header line when
    /// `first`), and the cursor of the next page.
    fn read(&self, input: &ViewInput, first: bool) -> Result<(Bytes, Option<String>), ViewError> {
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

    /// Reads the page `input` names on the blocking pool, in its turn.
    async fn read_in_turn(
        self: &Arc<Self>,
        input: &ViewInput,
        first: bool,
        wait: Duration,
    ) -> Result<(Bytes, Option<String>), Refusal> {
        let Ok(Ok(_turn)) = tokio::time::timeout(wait, self.turns.acquire()).await else {
            return Err(Refusal::Busy);
        };
        let (pages, input) = (self.clone(), input.clone());
        match tokio::task::spawn_blocking(move || pages.read(&input, first)).await {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(err)) => Err(Refusal::View(err)),
            Err(_) => Err(Refusal::Failed),
        }
    }

    /// Reads the first page, then the rest on a task of their own: the
    /// body, or why there is none.
    async fn open(
        self: Arc<Self>,
        mut input: ViewInput,
        name: &'static str,
    ) -> Result<mpsc::Receiver<io::Result<Bytes>>, Refusal> {
        input.after.clear();
        let (text, next) = self.read_in_turn(&input, true, FIRST_TURN_WAIT).await?;
        let (sender, receiver) = mpsc::channel(QUEUED);
        sender.try_send(Ok(text)).map_err(|_| Refusal::Failed)?;
        if let Some(after) = next {
            input.after = after;
            tokio::spawn(self.the_rest(input, sender, name));
        }
        Ok(receiver)
    }

    /// The pages after the first, from `input`'s cursor, into `sender`
    /// until the last, the client's going away, or a failure (sent as an
    /// error).
    async fn the_rest(
        self: Arc<Self>,
        mut input: ViewInput,
        sender: mpsc::Sender<io::Result<Bytes>>,
        name: &'static str,
    ) {
        let failure = loop {
            let page = tokio::select! {
                page = self.read_in_turn(&input, false, LATER_TURN_WAIT) => page,
                () = sender.closed() => return,
            };
            match page {
                Ok((text, next)) => {
                    if sender.send(Ok(text)).await.is_err() {
                        return;
                    }
                    match next {
                        Some(after) => input.after = after,
                        None => return,
                    }
                }
                Err(Refusal::Busy) => {
                    break format!("no turn to read the next page within {LATER_TURN_WAIT:?}");
                }
                Err(Refusal::View(err)) => break err.to_string(),
                Err(Refusal::Failed) => break "reading a page failed".to_owned(),
            }
        };
        tracing::warn!(download = name, %failure, "web app: a download was broken off");
        let _ = sender.send(Err(io::Error::other(failure))).await;
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
            Body::from_stream(ReceiverStream::new(body)),
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Rows `0..rows` in pages of `per_page`, the cursor being the next
    /// row; the page from `fails_at` on fails.
    struct Numbers {
        rows: usize,
        per_page: usize,
        fails_at: Option<usize>,
        reads: AtomicUsize,
    }

    impl Numbers {
        fn new(rows: usize, per_page: usize, fails_at: Option<usize>) -> Arc<Self> {
            Arc::new(Self {
                rows,
                per_page,
                fails_at,
                reads: AtomicUsize::new(0),
            })
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    type Page = (Vec<usize>, Option<String>);

    #[allow(clippy::type_complexity)]
    fn pages(
        numbers: &Arc<Numbers>,
        turns: &'static Semaphore,
    ) -> Arc<
        Pages<
            impl Fn(&ViewInput) -> Result<Page, ViewError> + Send + Sync + 'static,
            impl Fn(Page) -> Page + Send + Sync + 'static,
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
                if numbers.fails_at.is_some_and(|at| from >= at) {
                    return Err(ViewError::BadFilter(format!("page at {from} fails")));
                }
                let to = (from + numbers.per_page).min(numbers.rows);
                Ok((
                    (from..to).collect(),
                    (to < numbers.rows).then(|| to.to_string()),
                ))
            },
            split: |page: Page| page,
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

    /// Everything the body gives, and whether it ended with an error.
    async fn drain(mut body: mpsc::Receiver<io::Result<Bytes>>) -> (String, Option<String>) {
        let mut text = String::new();
        while let Some(chunk) = body.recv().await {
            match chunk {
                Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Err(err) => return (text, Some(err.to_string())),
            }
        }
        (text, None)
    }

    fn expected(rows: std::ops::Range<usize>) -> String {
        rows.map(|n| format!("{n},x\r\n")).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_page_is_sent_in_order_under_one_header() {
        let numbers = Numbers::new(10, 3, None);
        let input = ViewInput {
            after: "7".into(),
            ..Default::default()
        };
        let body = pages(&numbers, turns()).open(input, "test").await.unwrap();
        let (text, failure) = drain(body).await;
        assert_eq!(failure, None);
        assert_eq!(
            text,
            format!("[col-member],'=formula\r\n{}", expected(0..10))
        );
        assert_eq!(
            numbers.reads(),
            4,
            "pages of 3 rows from the first, not from 7"
        );

        // One page: the body is that page.
        let one = Numbers::new(2, 3, None);
        let body = pages(&one, turns())
            .open(ViewInput::default(), "test")
            .await;
        assert_eq!(
            drain(body.unwrap()).await.0,
            format!("[col-member],'=formula\r\n{}", expected(0..2))
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
        assert!(body.recv().await.is_some());
        // The reading runs ahead of the client by the queue and the page
        // waiting to join it, then waits without a turn.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while numbers.reads() < 2 + QUEUED {
            assert!(
                std::time::Instant::now() < deadline,
                "{} reads",
                numbers.reads()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        while turns.available_permits() < AT_ONCE {
            assert!(std::time::Instant::now() < deadline, "a turn is held");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The client goes away: the reading stops, and lets go of the pages.
        drop(body);
        while Arc::strong_count(&pages) > 1 {
            assert!(std::time::Instant::now() < deadline, "the reading goes on");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            numbers.reads() <= 2 + QUEUED,
            "{} pages read",
            numbers.reads()
        );
        assert_eq!(turns.available_permits(), AT_ONCE);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_that_fails_breaks_the_body_off_and_a_first_one_refuses_it() {
        let numbers = Numbers::new(10, 3, Some(6));
        let body = pages(&numbers, turns())
            .open(ViewInput::default(), "test")
            .await
            .unwrap();
        let (text, failure) = drain(body).await;
        assert_eq!(
            text,
            format!("[col-member],'=formula\r\n{}", expected(0..6))
        );
        assert_eq!(failure.as_deref(), Some("page at 6 fails"));

        let first = Numbers::new(10, 3, Some(0));
        let refusal = pages(&first, turns())
            .open(ViewInput::default(), "test")
            .await;
        assert!(
            matches!(refusal, Err(Refusal::View(ViewError::BadFilter(ref text))) if text == "page at 0 fails"),
            "{refusal:?}"
        );
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
