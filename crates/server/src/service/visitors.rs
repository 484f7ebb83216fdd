//! Who is visiting a landing page, as little as we need to know: bots are told apart and
//! never counted; IP addresses are kept only as a keyed hash (HMAC-SHA-256 with the
//! server's secret salt), enough to spot clusters later without storing the address.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Link-preview fetchers and crawlers (WhatsApp, iMessage, Slack, Facebook, Google, …).
pub struct BotFilter(isbot::Bots);

/// Chat apps' link previewers that isbot's crawler list does not name; wedding links
/// travel mostly through these, so each preview would otherwise count as a click.
const CHAT_PREVIEWERS: [&str; 7] =
    ["^whatsapp/", "telegrambot", "discordbot", "skypeuripreview", "viber", "snapchat", "^signal"];

/// Browser automation that announces itself beyond isbot's `headless` patterns: scripted
/// clicks, never a couple (docs/fraud.md).
const AUTOMATION: [&str; 3] = ["puppeteer", "playwright", "selenium"];

impl Default for BotFilter {
    fn default() -> Self {
        let mut bots = isbot::Bots::default();
        bots.append(&CHAT_PREVIEWERS);
        bots.append(&AUTOMATION);
        Self(bots)
    }
}

impl BotFilter {
    /// A request without a user agent is not a phone's browser: treated as a bot.
    pub fn is_bot(&self, user_agent: Option<&str>) -> bool {
        match user_agent.map(str::trim) {
            None | Some("") => true,
            Some(ua) => self.0.is_bot(ua),
        }
    }
}

pub fn hash_ip(secret: &str, ip: IpAddr) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    // IPv4 mapped into IPv6 (a dual-stack socket) is the same client as plain IPv4.
    mac.update(ip.to_canonical().to_string().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Keeps a bounded prefix of the user agent (fraud checks need it; nobody needs 4 KB).
pub fn trim_user_agent(ua: Option<&str>) -> Option<String> {
    ua.map(|s| s.chars().take(256).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_browsers_and_http_libraries_are_bots() {
        // Scripted clicks come from these; none is a couple's phone (docs/fraud.md).
        let bots = BotFilter::default();
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            "python-requests/2.31.0",
            "curl/8.4.0",
            "Go-http-client/1.1",
            "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
            "axios/1.6.2",
            "Wget/1.21.4",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Playwright/1.40",
        ] {
            assert!(bots.is_bot(Some(ua)), "{ua}");
        }
    }

    #[test]
    fn previewers_and_crawlers_are_bots_phones_are_not() {
        let bots = BotFilter::default();
        for ua in [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "WhatsApp/2.23.20.0",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Twitterbot/1.0",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        ] {
            assert!(bots.is_bot(Some(ua)), "{ua}");
        }
        assert!(bots.is_bot(None));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert!(!bots.is_bot(Some(iphone)));
    }

    #[test]
    fn ip_hashes_depend_on_the_secret() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(hash_ip("a", ip), hash_ip("a", ip));
        assert_ne!(hash_ip("a", ip), hash_ip("b", ip));
        assert!(!hash_ip("a", ip).contains("203"));
    }
}
