//! Invitation message templates: `{couple_names}`, `{wedding_date}`, `{business_name}`
//! and `{link}` are filled in; anything else in braces is a mistake worth telling the
//! supplier about before a hundred couples read it. `{{` and `}}` write literal braces.

use chrono::NaiveDate;

pub const PLACEHOLDERS: [&str; 4] = ["couple_names", "wedding_date", "business_name", "link"];

/// What a template is filled with.
#[derive(Debug, Clone, Default)]
pub struct TemplateValues {
    pub couple_names: String,
    pub wedding_date: Option<NaiveDate>,
    pub business_name: String,
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{0}}}: use {{couple_names}}, {{wedding_date}}, {{business_name}} or {{link}}")]
    Unknown(String),
    #[error("a '{{' is never closed; write {{{{ for a literal brace")]
    Unclosed,
    #[error("the message never includes {{link}}, so couples could not accept the invitation")]
    MissingLink,
}

/// "Saturday 12 June 2027", or "your big day" when the date is not known yet.
fn wedding_date_words(date: Option<NaiveDate>) -> String {
    date.map(|d| d.format("%A %-d %B %Y").to_string()).unwrap_or_else(|| "your big day".to_string())
}

/// Checks a template without values: every placeholder known, braces balanced, the link present.
pub fn check(template: &str) -> Result<(), TemplateError> {
    let mut saw_link = false;
    render_with(template, |name| {
        saw_link |= name == "link";
        Ok(String::new())
    })?;
    if saw_link { Ok(()) } else { Err(TemplateError::MissingLink) }
}

pub fn render(template: &str, values: &TemplateValues) -> Result<String, TemplateError> {
    check(template)?;
    render_with(template, |name| {
        Ok(match name {
            "couple_names" => values.couple_names.clone(),
            "wedding_date" => wedding_date_words(values.wedding_date),
            "business_name" => values.business_name.clone(),
            "link" => values.link.clone(),
            other => return Err(TemplateError::Unknown(other.to_string())),
        })
    })
}

fn render_with(template: &str, mut value: impl FnMut(&str) -> Result<String, TemplateError>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) if name.len() < 40 => name.push(ch),
                        _ => return Err(TemplateError::Unclosed),
                    }
                }
                let name = name.trim();
                if !PLACEHOLDERS.contains(&name) {
                    return Err(TemplateError::Unknown(name.to_string()));
                }
                out.push_str(&value(name)?);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The message a new supplier starts from.
pub const DEFAULT_TEMPLATE: &str = "Dear {couple_names},\n\nIt was lovely to hear about {wedding_date}! \
We'd love to help you plan it with Bouquet — here is your personal invitation:\n{link}\n\nWarm wishes,\n{business_name}";

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            couple_names: "Anna & Ben".into(),
            wedding_date: NaiveDate::from_ymd_opt(2027, 6, 12),
            business_name: "Golden Hour Studio".into(),
            link: "https://bouquet.example/r/LOVE-7KQMX4TPR8".into(),
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let text = render(DEFAULT_TEMPLATE, &values()).unwrap();
        assert!(text.starts_with("Dear Anna & Ben,"));
        assert!(text.contains("Saturday 12 June 2027"));
        assert!(text.contains("https://bouquet.example/r/LOVE-7KQMX4TPR8"));
        assert!(text.ends_with("Golden Hour Studio"));
        let undated = TemplateValues { wedding_date: None, ..values() };
        assert!(render(DEFAULT_TEMPLATE, &undated).unwrap().contains("your big day"));
        assert_eq!(render("{{ {link} }}", &values()).unwrap(), "{ https://bouquet.example/r/LOVE-7KQMX4TPR8 }");
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(render("Hi {name} {link}", &values()), Err(TemplateError::Unknown("name".into())));
        assert_eq!(render("Hi {couple_names", &values()), Err(TemplateError::Unclosed));
        assert_eq!(check("Hi {couple_names}"), Err(TemplateError::MissingLink));
        assert!(check(DEFAULT_TEMPLATE).is_ok());
    }
}
