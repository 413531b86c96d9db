//! The real senders behind notifications: email through SMTP, and SMS or
//! WhatsApp through an HTTP adapter (any provider, behind a small relay that
//! takes our JSON). Either may be missing; then those notifications are
//! recorded as skipped, never dropped.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{SmtpTransport, Transport};

use crate::config::NotifySettings;
use crate::domain::notifications::{Channel, Message, Sender};

/// How long a send may take (a notification holds its booking's lock meanwhile).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Senders {
    smtp: Option<(SmtpTransport, Mailbox)>,
    text: Option<TextAdapter>,
    public_url: String,
}

/// `POST {url}` with `{channel, to, body, subject}` and an optional bearer token.
struct TextAdapter {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl Senders {
    pub fn from_settings(settings: &NotifySettings) -> Result<Self, String> {
        let smtp = match &settings.smtp_url {
            None => None,
            Some(url) => {
                let transport = SmtpTransport::from_url(url)
                    .map_err(|e| format!("SLOTWISE_SMTP_URL: {e}"))?
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                let from: Mailbox = settings
                    .email_from
                    .parse()
                    .map_err(|e| format!("SLOTWISE_EMAIL_FROM: {e}"))?;
                Some((transport, from))
            }
        };
        let text = settings.text_url.as_ref().map(|url| TextAdapter {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(SEND_TIMEOUT))
                .http_status_as_error(false)
                .build()
                .into(),
            url: url.clone(),
            token: settings.text_token.clone(),
        });
        Ok(Self {
            smtp,
            text,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
        })
    }
}

impl Sender for Senders {
    fn sends_email(&self) -> bool {
        self.smtp.is_some()
    }

    fn sends_text(&self) -> bool {
        self.text.is_some()
    }

    fn feedback_link(&self, token: &str) -> String {
        format!("{}/feedback#token={token}", self.public_url)
    }

    fn send(&self, channel: Channel, to: &str, message: &Message) -> Result<(), String> {
        match channel {
            Channel::Email => {
                let (transport, from) = self.smtp.as_ref().ok_or("no_sender")?;
                let to: Mailbox = to.parse().map_err(|e| format!("bad address: {e}"))?;
                let email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&message.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.body.clone())
                    .map_err(|e| e.to_string())?;
                transport
                    .send(&email)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Channel::Sms | Channel::Whatsapp => {
                let adapter = self.text.as_ref().ok_or("no_sender")?;
                let mut request = adapter.agent.post(&adapter.url);
                if let Some(token) = &adapter.token {
                    request = request.header("authorization", format!("Bearer {token}"));
                }
                let response = request
                    .send_json(serde_json::json!({
                        "channel": channel.as_str(),
                        "to": to,
                        "subject": message.subject,
                        "body": message.body,
                    }))
                    .map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(format!("the text adapter answered {status}"))
                }
            }
        }
    }
}
