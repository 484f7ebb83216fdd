//! The couple-facing pages' language (issue 15, docs/couples.md): text in Fluent message
//! files (`crates/server/locales/<language>/*.ftl`, built into the binary), the language
//! negotiated from the account's choice and the browser's `Accept-Language`, and numbers
//! and dates as that language (and region) writes them, from CLDR through ICU4X. A
//! language is added by adding its folder and its entry in [`SUPPORTED`].

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::Locale;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the pages are plain HTML text.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages with complete message files, the first the fallback, each with the
/// region whose way of writing numbers and dates it takes when the reader names none
/// (Bouquet began in the UK: "6 December 2026", not "December 6, 2026").
const SUPPORTED: [(&str, &str); 2] = [("en", "en-GB"), ("es", "es-ES")];

/// Text in one language, numbers and dates in that language's regional form.
#[derive(Debug, Clone)]
pub struct Tr {
    lang: LanguageIdentifier,
    /// For numbers and dates: the reader's own tag for the chosen language (`es-MX`), else
    /// the language's default region.
    format: Locale,
}

impl Tr {
    /// The best of [`SUPPORTED`] for an `Accept-Language` header (English when none fits).
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        Self::for_account(None, accept_language)
    }

    /// The account's own language when Bouquet has it, else the best of the browser's
    /// (`Accept-Language`), else English.
    pub fn for_account(locale: Option<&str>, accept_language: Option<&str>) -> Self {
        let mut requested: Vec<LanguageIdentifier> = locale.and_then(|l| l.parse().ok()).into_iter().collect();
        requested.extend(accept_language.map(fluent_langneg::accepted_languages::parse).unwrap_or_default());
        let available: Vec<LanguageIdentifier> = SUPPORTED.iter().map(|(l, _)| l.parse().expect("a valid language tag")).collect();
        let default: LanguageIdentifier = SUPPORTED[0].0.parse().expect("a valid language tag");
        let chosen = fluent_langneg::negotiate_languages(&requested, &available, Some(&default), fluent_langneg::NegotiationStrategy::Lookup);
        let lang = chosen.first().map_or(default.clone(), |l| (*l).clone());
        let regional = requested.iter().find(|r| r.language == lang.language && r.region.is_some()).map(ToString::to_string);
        let fallback = SUPPORTED.iter().find(|(l, _)| *l == lang.language.as_str()).map_or(SUPPORTED[0].1, |(_, r)| r);
        let format = regional.and_then(|r| r.parse().ok()).unwrap_or_else(|| fallback.parse().expect("a valid locale"));
        Self { lang, format }
    }

    /// For a request: the account's own language (when one is signed in), else the
    /// request's `Accept-Language`, else English.
    pub fn for_request(locale: Option<&str>, headers: &axum::http::HeaderMap) -> Self {
        Self::for_account(locale, headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    }

    /// The languages the pages can be read in: (tag, the language's own name).
    pub fn languages() -> Vec<(&'static str, String)> {
        SUPPORTED.iter().map(|(l, _)| (*l, LOCALES.lookup(&l.parse().expect("a valid language tag"), "language-name"))).collect()
    }

    /// The language tag, for `<html lang>`.
    pub fn lang(&self) -> String {
        self.lang.to_string()
    }

    pub fn t(&self, id: &str) -> String {
        LOCALES.lookup(&self.lang, id)
    }

    /// A message with one text argument (for templates).
    pub fn t_arg(&self, id: &str, name: &'static str, value: &str) -> String {
        self.t_with(id, &[(name, FluentValue::from(value))])
    }

    /// A message with arguments: `("name", value)` pairs.
    pub fn t_with(&self, id: &str, args: &[(&'static str, FluentValue<'_>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())).collect();
        LOCALES.lookup_with_args(&self.lang, id, &args)
    }

    /// An amount in hundredths as the reader writes it: "1,234.50" (en), "12.345,50" (es);
    /// whole amounts without decimals.
    pub fn number_minor(&self, minor: i64) -> String {
        let mut decimal = Decimal::from(minor);
        decimal.multiply_pow10(-2);
        if minor % 100 == 0 {
            decimal.trim_end();
        }
        match DecimalFormatter::try_new((&self.format).into(), Default::default()) {
            Ok(formatter) => formatter.format(&decimal).to_string(),
            // Every supported language has CLDR data; a plain number is still right.
            Err(_) => decimal.to_string(),
        }
    }

    /// Credits: "1 credit", "14.50 credits" / "14,50 créditos" (the plural by the
    /// language's rules, on the amount).
    pub fn credits(&self, minor: i64) -> String {
        let count = FluentValue::from(minor as f64 / 100.0);
        self.t_with("credits", &[("amount", FluentValue::from(self.number_minor(minor))), ("count", count)])
    }

    /// A multiplier in basis points: 15,000 → "1.5" / "1,5".
    pub fn factor_bp(&self, bp: u32) -> String {
        let mut decimal = Decimal::from(bp);
        decimal.multiply_pow10(-4);
        decimal.trim_end();
        match DecimalFormatter::try_new((&self.format).into(), Default::default()) {
            Ok(formatter) => formatter.format(&decimal).to_string(),
            Err(_) => decimal.to_string(),
        }
    }

    /// A moment's day: "6 December 2026" / "6 de diciembre de 2026".
    pub fn date(&self, at: DateTime<Utc>) -> String {
        self.day(at.date_naive())
    }

    /// A day in the reader's long form: "6 December 2026" (en-GB), "December 6, 2026"
    /// (en-US), "6 de diciembre de 2026" (es).
    pub fn day(&self, day: NaiveDate) -> String {
        let formatted = icu_datetime::input::Date::try_new_iso(day.year(), day.month() as u8, day.day() as u8)
            .ok()
            .zip(DateTimeFormatter::try_new((&self.format).into(), YMD::long()).ok())
            .map(|(date, formatter)| formatter.format(&date).to_string());
        formatted.unwrap_or_else(|| day.format("%Y-%m-%d").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_browser_chooses_among_the_languages_we_have() {
        assert_eq!(Tr::negotiate(Some("es-ES,es;q=0.9,en;q=0.8")).lang(), "es");
        assert_eq!(Tr::negotiate(Some("fr-FR, de")).lang(), "en", "none fits: English");
        assert_eq!(Tr::negotiate(None).lang(), "en");
        assert_eq!(Tr::negotiate(Some("en-GB")).lang(), "en");
    }

    #[test]
    fn the_account_language_comes_before_the_browser() {
        assert_eq!(Tr::for_account(Some("es"), Some("en-GB,en")).lang(), "es");
        assert_eq!(Tr::for_account(Some("es-MX"), None).lang(), "es");
        assert_eq!(Tr::for_account(Some("fr"), Some("es, en")).lang(), "es", "a language we lack: the browser's next");
        assert_eq!(Tr::for_account(None, Some("es")).lang(), "es");
        assert_eq!(Tr::languages(), vec![("en", "English".to_string()), ("es", "Español".to_string())]);
    }

    #[test]
    fn every_message_exists_in_every_language() {
        let ids = |text: &str| -> std::collections::BTreeSet<String> {
            // A message starts a line with its id and " =" (its value on that line or the next).
            text.lines()
                .filter(|l| !l.starts_with([' ', '#', '}', '*', '[']) && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap().trim().to_string())
                .collect()
        };
        for (file, en, es) in [
            ("couple.ftl", include_str!("../locales/en/couple.ftl"), include_str!("../locales/es/couple.ftl")),
            ("pages.ftl", include_str!("../locales/en/pages.ftl"), include_str!("../locales/es/pages.ftl")),
            ("landing.ftl", include_str!("../locales/en/landing.ftl"), include_str!("../locales/es/landing.ftl")),
            ("notices.ftl", include_str!("../locales/en/notices.ftl"), include_str!("../locales/es/notices.ftl")),
        ] {
            assert!(!ids(en).is_empty(), "{file} has messages");
            assert_eq!(ids(en), ids(es), "a message of {file} missing from one language");
        }
    }

    #[test]
    fn numbers_dates_and_plurals_follow_the_language() {
        let (en, es) = (Tr::negotiate(Some("en")), Tr::negotiate(Some("es")));
        assert_eq!((en.credits(1_234_550), es.credits(1_234_550)), ("12,345.50 credits".to_string(), "12.345,50 créditos".to_string()));
        // Spanish groups from five digits (CLDR's minimum grouping).
        assert_eq!((en.number_minor(123_400), es.number_minor(123_450)), ("1,234".to_string(), "1234,50".to_string()));
        assert_eq!((en.credits(500), en.credits(100), es.credits(100)), ("5 credits".to_string(), "1 credit".to_string(), "1 crédito".to_string()));
        assert_eq!((en.factor_bp(15_000), es.factor_bp(15_000), en.factor_bp(20_000)), ("1.5".to_string(), "1,5".to_string(), "2".to_string()));
        let day = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        assert_eq!((en.date(day), es.date(day)), ("6 December 2026".to_string(), "6 de diciembre de 2026".to_string()));
        // The reader's region decides the form.
        assert_eq!(Tr::negotiate(Some("en-US,en")).date(day), "December 6, 2026");
        assert_eq!(Tr::for_account(Some("es-MX"), Some("en-GB")).number_minor(-1_234_550), "-12,345.50");
        let next = |tr: &Tr, n: i64| tr.t_with("couple-to-next", &[("count", FluentValue::from(n)), ("tier", FluentValue::from("Active"))]);
        assert_eq!((next(&en, 1), next(&en, 2)), ("1 more booking to Active".to_string(), "2 more bookings to Active".to_string()));
        assert_eq!(next(&es, 2), "2 contrataciones más para Active");
    }
}
