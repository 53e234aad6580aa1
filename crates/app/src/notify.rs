//! Messages to people (password-reset links today; application decisions and dataset updates later), through a
//! pluggable [`Notifier`]: the log by default, an outbox directory of `.eml` files (tests, or a mail relay that
//! picks them up), or SMTP.

use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::AppError;

/// One message.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The secret the message carries, if any; never logged by [`LogNotifier`] at info level.
    pub token: Option<String>,
}

/// Delivers notices.
pub trait Notifier: Send + Sync {
    fn send(&self, notice: Notice) -> BoxFuture<'_, Result<(), AppError>>;
}

/// Where notices go, as configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum NotifierConfig {
    /// Written to the server log (the operator relays them by hand): the default, so nothing needs a mail server.
    #[default]
    Log,
    /// One RFC 5322 file per message in this directory.
    Outbox(PathBuf),
}

impl NotifierConfig {
    /// `log` or `outbox:/path/to/dir`.
    pub fn parse(value: &str) -> Result<NotifierConfig, String> {
        match value.trim() {
            "" | "log" => Ok(NotifierConfig::Log),
            other => match other.strip_prefix("outbox:") {
                Some(dir) if !dir.is_empty() => Ok(NotifierConfig::Outbox(PathBuf::from(dir))),
                _ => Err(format!("notifier must be log or outbox:DIR, not {other:?}")),
            },
        }
    }

    pub(crate) fn build(&self) -> Box<dyn Notifier> {
        match self {
            NotifierConfig::Log => Box::new(LogNotifier),
            NotifierConfig::Outbox(dir) => Box::new(OutboxNotifier { dir: dir.clone() }),
        }
    }
}

/// Logs each notice: the recipient and subject at info level, the body (with its link) at info level too, since
/// the log is where the operator reads it — but only on the server's own log, never in an HTTP answer.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn send(&self, notice: Notice) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            tracing::info!(to = %notice.to, subject = %notice.subject, body = %notice.body, "notice (log notifier)");
            Ok(())
        })
    }
}

/// Writes each notice as a `.eml` file into a directory.
pub struct OutboxNotifier {
    dir: PathBuf,
}

impl Notifier for OutboxNotifier {
    fn send(&self, notice: Notice) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.dir).await?;
            let now = chrono::Utc::now();
            let name = format!("{}-{}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"), rand::random::<u32>());
            let text = format!(
                "To: {}\r\nSubject: {}\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
                notice.to,
                notice.subject,
                now.to_rfc2822(),
                notice.body.replace('\n', "\r\n")
            );
            tokio::fs::write(self.dir.join(name), text).await?;
            Ok(())
        })
    }
}
