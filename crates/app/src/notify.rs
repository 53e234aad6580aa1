//! Messages to people (password-reset links today; application decisions and dataset updates later), through a
//! pluggable [`Notifier`]: the log by default, an outbox directory of `.eml` files (tests, or a mail relay that
//! picks them up), or SMTP.

use std::path::PathBuf;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
    /// Sent through an SMTP server: `smtp://user:pass@host:587` (STARTTLS when the server offers it;
    /// `?tls=required` insists), `smtps://…:465` (implicit TLS); `from` is the sender address.
    Smtp { url: String, from: String },
}

impl NotifierConfig {
    /// `log`, `outbox:/path/to/dir`, or `smtp://…?from=noreply@city.gov.tw` (also `smtps://`).
    pub fn parse(value: &str) -> Result<NotifierConfig, String> {
        let value = value.trim();
        if value.starts_with("smtp://") || value.starts_with("smtps://") {
            let mut url = url::Url::parse(value).map_err(|e| format!("notifier SMTP URL: {e}"))?;
            let from = url.query_pairs().find(|(k, _)| k == "from").map(|(_, v)| v.into_owned());
            let Some(from) = from.filter(|f| f.contains('@')) else {
                return Err("an SMTP notifier needs the sender: smtp://host:587?from=noreply@example.gov.tw".into());
            };
            let rest: Vec<(String, String)> =
                url.query_pairs().filter(|(k, _)| k != "from").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            if rest.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(rest);
            }
            return Ok(NotifierConfig::Smtp { url: url.to_string(), from });
        }
        match value {
            "" | "log" => Ok(NotifierConfig::Log),
            other => match other.strip_prefix("outbox:") {
                Some(dir) if !dir.is_empty() => Ok(NotifierConfig::Outbox(PathBuf::from(dir))),
                _ => Err(format!("notifier must be log, outbox:DIR or smtp://…, not {other:?}")),
            },
        }
    }

    pub(crate) fn build(&self) -> Result<Box<dyn Notifier>, AppError> {
        Ok(match self {
            NotifierConfig::Log => Box::new(LogNotifier),
            NotifierConfig::Outbox(dir) => Box::new(OutboxNotifier { dir: dir.clone() }),
            NotifierConfig::Smtp { url, from } => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| AppError::Internal(format!("notifier SMTP URL: {e}")))?
                    .build();
                let from = from.parse().map_err(|e| AppError::Internal(format!("notifier sender {from:?}: {e}")))?;
                Box::new(SmtpNotifier { transport, from })
            }
        })
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

/// Sends each notice as a plain-text UTF-8 mail through an SMTP server (lettre).
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Notifier for SmtpNotifier {
    fn send(&self, notice: Notice) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            let to: Mailbox =
                notice.to.parse().map_err(|e| AppError::Internal(format!("notice recipient {:?}: {e}", notice.to)))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(notice.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(notice.body)
                .map_err(|e| AppError::Internal(format!("notice: {e}")))?;
            self.transport.send(message).await.map_err(|e| AppError::Internal(format!("SMTP: {e}")))?;
            Ok(())
        })
    }
}
