//! PyPI: the RSS feeds (`/rss/updates.xml`, `/rss/packages.xml`, and the per-project
//! `/rss/project/NAME/releases.xml` to learn a new project's versions) and the XML-RPC
//! journal (`changelog_last_serial`, `changelog_since_serial`).
//!
//! The XML-RPC journal is the authoritative, gap-free source: every upload is an
//! entry with a serial. The RSS feeds are windows of the latest 100 releases / 40
//! projects and are the fallback where XML-RPC is unavailable.

use anyhow::{Context as _, Result, bail};
use time::OffsetDateTime;

use crate::timefmt::from_unix;
use crate::window::advance;
use crate::xml::{self, Element};
use crate::{FeedId, Gap, PollReport, Release, Sink, Watcher, parse_rfc2822};

const RSS_BACKFILL: &str = "the pypi-xmlrpc feed covers this stretch (changelog_since_serial); \
     or read each project's /rss/project/NAME/releases.xml";
const XMLRPC_BACKFILL: &str = "call list_packages_with_serial(): projects whose last serial \
     falls in the missing range changed in it; re-read them from /pypi/NAME/json";

/// One `<item>` of a PyPI RSS feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RssItem {
    pub(crate) title: String,
    pub(crate) link: String,
    pub(crate) published: OffsetDateTime,
}

/// Parses an RSS 2.0 document into its items. Items without a readable `pubDate`
/// are returned in the second list, with why.
pub(crate) fn parse_rss(body: &[u8]) -> Result<(Vec<RssItem>, Vec<String>)> {
    let root = xml::parse(body)?;
    if root.name != "rss" {
        bail!("not an RSS document: the root element is <{}>", root.name);
    }
    let channel = root
        .child("channel")
        .context("RSS document without <channel>")?;
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for item in channel.children_named("item") {
        let title = item.child_text("title").unwrap_or_default().to_owned();
        let link = item.child_text("link").unwrap_or_default().to_owned();
        match item.child_text("pubDate").map(parse_rfc2822) {
            Some(Ok(published)) => items.push(RssItem {
                title,
                link,
                published,
            }),
            Some(Err(e)) => bad.push(format!("item `{title}`: {e:#}")),
            None => bad.push(format!("item `{title}`: no pubDate")),
        }
    }
    Ok((items, bad))
}

/// `/rss/updates.xml`: items titled `NAME VERSION`.
pub(crate) fn poll_updates(
    w: &Watcher,
    sink: &dyn Sink,
    cursor: Option<String>,
    url: &str,
) -> Result<PollReport> {
    let feed = FeedId::PypiRssUpdates;
    let body = fetch(w, url)?;
    let (items, mut rejected) = parse_rss(&body).with_context(|| format!("parsing {url}"))?;
    let mut releases = Vec::new();
    for item in items {
        let parsed = item
            .title
            .split_once(' ')
            .and_then(|(n, v)| Release::checked(feed, n.trim(), v.trim(), Some(item.published)));
        match parsed {
            Some(r) => releases.push(r),
            None => rejected.push(format!("item `{}`: not `NAME VERSION`", item.title)),
        }
    }
    crate::window_poll(sink, feed, cursor, releases, rejected, RSS_BACKFILL)
}

/// `/rss/packages.xml`: items titled `NAME added to PyPI`, without versions; each new
/// project's versions come from its own releases feed.
pub(crate) fn poll_packages(
    w: &Watcher,
    sink: &dyn Sink,
    cursor: Option<String>,
) -> Result<PollReport> {
    let feed = FeedId::PypiRssPackages;
    let url = &w.config().endpoints.pypi_rss_packages;
    let mut report = PollReport::for_feed(feed, cursor.clone());
    let body = fetch(w, url)?;
    let (items, bad) = parse_rss(&body).with_context(|| format!("parsing {url}"))?;
    report.rejected = bad;
    let mut projects: Vec<(String, OffsetDateTime)> = Vec::new();
    for item in items {
        match project_name(&item) {
            // Validate with a dummy version: the name is what goes into a URL.
            Some(name) if Release::checked(feed, &name, "0", None).is_some() => {
                projects.push((name, item.published));
            }
            _ => report
                .rejected
                .push(format!("item `{}`: no valid project name", item.title)),
        }
    }
    report.items = projects.len();
    let adv = advance(feed, cursor.as_deref(), &projects, RSS_BACKFILL);
    let mut fresh: Vec<&(String, OffsetDateTime)> =
        adv.fresh.iter().filter_map(|&i| projects.get(i)).collect();
    fresh.sort_by_key(|(_, t)| *t);
    let mut releases = Vec::new();
    for (name, _) in fresh {
        let project_url = w
            .config()
            .endpoints
            .pypi_rss_project
            .replace("{name}", name);
        let Some(body) = w
            .http()
            .get(&project_url, "application/rss+xml, application/xml")?
        else {
            // Removed before we looked (often what happens to malware): nothing to queue.
            report
                .rejected
                .push(format!("project `{name}`: its releases feed is gone (404)"));
            continue;
        };
        let (mut versions, bad) =
            parse_rss(&body).with_context(|| format!("parsing {project_url}"))?;
        report.rejected.extend(bad);
        versions.sort_by_key(|v| std::cmp::Reverse(v.published));
        for v in versions
            .into_iter()
            .take(w.config().max_new_project_versions)
        {
            match Release::checked(feed, name, &v.title, Some(v.published)) {
                Some(r) => releases.push(r),
                None => report
                    .rejected
                    .push(format!("project `{name}`: bad version `{}`", v.title)),
            }
        }
    }
    report.enqueue_all(sink, releases)?;
    report.gaps = adv.gaps;
    if let Some(c) = adv.cursor {
        report.commit(sink, feed, c)?;
    }
    Ok(report)
}

/// `NAME added to PyPI`, else the last path segment of `…/project/NAME/`.
fn project_name(item: &RssItem) -> Option<String> {
    if let Some(name) = item.title.strip_suffix(" added to PyPI") {
        return Some(name.trim().to_owned());
    }
    let path = item.link.split("/project/").nth(1)?;
    path.split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One journal entry: `[name, version, timestamp, action, serial]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalEntry {
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    pub(crate) timestamp: i64,
    pub(crate) action: String,
    pub(crate) serial: i64,
}

impl JournalEntry {
    /// Entries that mean "there is something new to analyse in this version".
    fn is_upload(&self) -> bool {
        self.action == "new release"
            || (self.action.starts_with("add ") && self.action.contains(" file "))
    }
}

/// An XML-RPC value, as much of the type system as PyPI's answers use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Str(String),
    Nil,
    Bool(bool),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
}

fn value(el: &Element) -> Result<Value> {
    let Some(typed) = el.children.first() else {
        // `<value>text</value>` is a string by definition.
        return Ok(Value::Str(el.text.clone()));
    };
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => Value::Int(
            typed
                .text
                .trim()
                .parse()
                .with_context(|| format!("bad XML-RPC integer `{}`", typed.text.trim()))?,
        ),
        "string" | "double" | "dateTime.iso8601" | "base64" => Value::Str(typed.text.clone()),
        "boolean" => Value::Bool(typed.text.trim() == "1"),
        "nil" => Value::Nil,
        "array" => {
            let data = typed
                .child("data")
                .context("XML-RPC <array> without <data>")?;
            Value::Array(
                data.children_named("value")
                    .map(value)
                    .collect::<Result<_>>()?,
            )
        }
        "struct" => Value::Struct(
            typed
                .children_named("member")
                .map(|m| {
                    let name = m.child_text("name").unwrap_or_default().to_owned();
                    let v = m
                        .child("value")
                        .context("XML-RPC <member> without <value>")?;
                    Ok((name, value(v)?))
                })
                .collect::<Result<_>>()?,
        ),
        other => bail!("unknown XML-RPC type <{other}>"),
    })
}

/// Parses a `methodResponse`: its single value, or the fault as an error.
pub(crate) fn parse_method_response(body: &[u8]) -> Result<Value> {
    let root = xml::parse(body)?;
    if root.name != "methodResponse" {
        bail!(
            "not an XML-RPC response: the root element is <{}>",
            root.name
        );
    }
    if let Some(fault) = root.child("fault") {
        let v = fault.child("value").map(value).transpose()?;
        let mut code = String::from("?");
        let mut text = String::new();
        if let Some(Value::Struct(members)) = v {
            for (k, v) in members {
                match (k.as_str(), v) {
                    ("faultCode", Value::Int(c)) => code = c.to_string(),
                    ("faultString", Value::Str(s)) => text = s,
                    _ => {}
                }
            }
        }
        bail!("XML-RPC fault {code}: {text}");
    }
    let v = root
        .child("params")
        .and_then(|p| p.child("param"))
        .and_then(|p| p.child("value"))
        .context("XML-RPC response without params/param/value")?;
    value(v)
}

/// The result of `changelog_since_serial`, as entries.
pub(crate) fn parse_changelog(body: &[u8]) -> Result<Vec<JournalEntry>> {
    let Value::Array(rows) = parse_method_response(body)? else {
        bail!("changelog_since_serial did not return an array");
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let Value::Array(f) = row else {
                bail!("changelog row {i} is not an array");
            };
            match f.as_slice() {
                [
                    Value::Str(name),
                    version,
                    Value::Int(ts),
                    Value::Str(action),
                    Value::Int(serial),
                    ..,
                ] => Ok(JournalEntry {
                    name: name.clone(),
                    version: match version {
                        Value::Str(v) if !v.is_empty() => Some(v.clone()),
                        _ => None,
                    },
                    timestamp: *ts,
                    action: action.clone(),
                    serial: *serial,
                }),
                _ => bail!("changelog row {i} is not [name, version, timestamp, action, serial]"),
            }
        })
        .collect()
}

fn call(method: &str, arg: Option<i64>) -> String {
    let params = arg.map_or_else(String::new, |a| {
        format!("<param><value><int>{a}</int></value></param>")
    });
    format!(
        "<?xml version=\"1.0\"?>\n<methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    )
}

fn last_serial(w: &Watcher, url: &str) -> Result<i64> {
    let body = w
        .http()
        .post_xml(url, &call("changelog_last_serial", None))?;
    match parse_method_response(&body).with_context(|| format!("changelog_last_serial at {url}"))? {
        Value::Int(n) => Ok(n),
        other => bail!("changelog_last_serial at {url} returned {other:?}, not an integer"),
    }
}

/// The journal by serial. First poll: start at the head (nothing is enqueued).
/// Later polls: read pages of `changelog_since_serial` up to the head; serials
/// missing between the cursor and what came back are a gap.
pub(crate) fn poll_xmlrpc(
    w: &Watcher,
    sink: &dyn Sink,
    cursor: Option<String>,
) -> Result<PollReport> {
    let feed = FeedId::PypiXmlrpc;
    let url = &w.config().endpoints.pypi_xmlrpc;
    let mut report = PollReport::for_feed(feed, cursor.clone());
    let head = last_serial(w, url)?;
    let mut at = match cursor.as_deref().map(str::parse::<i64>) {
        None => {
            report.commit(sink, feed, head.to_string())?;
            return Ok(report);
        }
        Some(Ok(c)) => c,
        Some(Err(_)) => {
            report.gaps.push(Gap {
                feed,
                from: cursor.clone().unwrap_or_default(),
                to: head.to_string(),
                detail: "the stored cursor is not a serial; restarted at the head".into(),
                backfill: XMLRPC_BACKFILL.into(),
            });
            report.commit(sink, feed, head.to_string())?;
            return Ok(report);
        }
    };
    if head < at {
        // The journal went backwards: a different index, or a restored database.
        report.gaps.push(Gap {
            feed,
            from: at.to_string(),
            to: head.to_string(),
            detail: format!("the server's last serial {head} is behind the cursor {at}"),
            backfill: XMLRPC_BACKFILL.into(),
        });
        report.commit(sink, feed, head.to_string())?;
        return Ok(report);
    }
    let start = at;
    let mut missing: Vec<(i64, i64)> = Vec::new();
    let mut releases: Vec<Release> = Vec::new();
    let mut pages = 0;
    while at < head {
        if pages >= w.config().max_pages {
            report.backlog = true;
            break;
        }
        pages += 1;
        let body = w
            .http()
            .post_xml(url, &call("changelog_since_serial", Some(at)))?;
        let mut entries = parse_changelog(&body)
            .with_context(|| format!("changelog_since_serial({at}) at {url}"))?;
        entries.retain(|e| e.serial > at);
        entries.sort_by_key(|e| e.serial);
        if entries.is_empty() {
            // The head said there is more, the journal says there is not: it will
            // show up next poll, or its absence is reported then.
            break;
        }
        report.items += entries.len();
        for e in entries {
            if e.serial > at + 1 {
                missing.push((at + 1, e.serial - 1));
            }
            at = e.serial;
            if !e.is_upload() {
                continue;
            }
            let Some(version) = e.version.as_deref() else {
                continue;
            };
            match Release::checked(feed, &e.name, version, from_unix(e.timestamp)) {
                Some(r) if !releases.contains(&r) => releases.push(r),
                Some(_) => {}
                None => report.rejected.push(format!(
                    "serial {}: bad name/version `{}` `{version}`",
                    e.serial, e.name
                )),
            }
        }
    }
    if !missing.is_empty() {
        let listed: Vec<String> = missing
            .iter()
            .take(10)
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        let more = missing.len().saturating_sub(10);
        report.gaps.push(Gap {
            feed,
            from: start.to_string(),
            to: at.to_string(),
            detail: format!(
                "serials {}{} are missing from the journal (dropped, or uploads rolled back)",
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more ranges")
                } else {
                    String::new()
                }
            ),
            backfill: XMLRPC_BACKFILL.into(),
        });
    }
    report.enqueue_all(sink, releases)?;
    report.commit(sink, feed, at.to_string())?;
    Ok(report)
}

fn fetch(w: &Watcher, url: &str) -> Result<Vec<u8>> {
    w.http()
        .get_feed(url, "application/rss+xml, application/xml;q=0.9")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmlrpc_faults_and_nils() {
        let fault = br#"<?xml version='1.0'?><methodResponse><fault><value><struct>
            <member><name>faultCode</name><value><int>-32500</int></value></member>
            <member><name>faultString</name><value><string>RuntimeError: rate limited</string></value></member>
            </struct></value></fault></methodResponse>"#;
        let err = parse_method_response(fault).unwrap_err().to_string();
        assert!(
            err.contains("-32500") && err.contains("rate limited"),
            "{err}"
        );
        let rows = br#"<methodResponse><params><param><value><array><data>
            <value><array><data><value><string>x</string></value><value><nil/></value>
            <value><int>1764092412</int></value><value><string>create</string></value>
            <value><int>7</int></value></data></array></value></data></array></value></param></params></methodResponse>"#;
        let e = parse_changelog(rows).unwrap();
        assert_eq!(e[0].version, None);
        assert_eq!(e[0].serial, 7);
        assert!(!e[0].is_upload());
    }

    #[test]
    fn upload_actions() {
        let mk = |a: &str| JournalEntry {
            name: "n".into(),
            version: Some("1".into()),
            timestamp: 0,
            action: a.into(),
            serial: 1,
        };
        assert!(mk("new release").is_upload());
        assert!(mk("add source file n-1.tar.gz").is_upload());
        assert!(mk("add py3 file n-1-py3-none-any.whl").is_upload());
        assert!(!mk("remove release").is_upload());
        assert!(!mk("add Owner alice").is_upload());
    }
}
