//! A small element tree over `quick-xml`, for the two XML formats the feeds speak
//! (RSS 2.0 and XML-RPC responses).
//!
//! Feed bodies are untrusted: the tree has a depth cap and a node cap, custom
//! entities are never expanded (there is no DTD processing, so no entity bombs), and
//! a malformed document is an error naming the byte offset, never a panic.

use anyhow::{Context as _, Result, bail};
use quick_xml::Reader;
use quick_xml::events::Event;

/// Deepest nesting accepted. XML-RPC changelogs nest 8 levels, RSS 4.
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document (a 50,000-entry XML-RPC changelog has
/// about 1.2 million; the response size cap bounds this first in practice).
const MAX_NODES: usize = 4_000_000;

/// One element: its local name (namespace prefix dropped), child elements and text.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) children: Vec<Element>,
    /// All text directly inside this element, entities resolved, CDATA included.
    pub(crate) text: String,
}

impl Element {
    /// The first child element called `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child element called `name`.
    pub(crate) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child called `name`.
    pub(crate) fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// Parses a whole document and returns its root element.
pub(crate) fn parse(bytes: &[u8]) -> Result<Element> {
    let text = std::str::from_utf8(bytes).context("the XML document is not UTF-8")?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    // The stack holds the open elements; index 0 is a synthetic document node.
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut nodes = 0usize;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .with_context(|| format!("malformed XML near byte {pos}"))?;
        match event {
            Event::Start(start) => {
                nodes += 1;
                if stack.len() > MAX_DEPTH {
                    bail!("XML nested deeper than {MAX_DEPTH} elements near byte {pos}");
                }
                if nodes > MAX_NODES {
                    bail!("XML document has more than {MAX_NODES} elements");
                }
                stack.push(Element {
                    name: local_name(start.local_name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    bail!("XML document has more than {MAX_NODES} elements");
                }
                let el = Element {
                    name: local_name(start.local_name().as_ref()),
                    ..Element::default()
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end tags match their start tags.
                if stack.len() < 2 {
                    bail!("unbalanced end tag near byte {pos}");
                }
                if let Some(done) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.children.push(done);
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .with_context(|| format!("undecodable text near byte {pos}"))?;
                push_text(&mut stack, &s);
            }
            Event::CData(c) => {
                let s = c
                    .decode()
                    .with_context(|| format!("undecodable CDATA near byte {pos}"))?;
                push_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .with_context(|| format!("undecodable entity near byte {pos}"))?;
                        // Predefined entities resolve; HTML ones such as `&nbsp;` in
                        // a description are kept literally rather than failing a feed.
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .map_or_else(|| format!("&{name};"), str::to_owned)
                    }
                    Err(e) => bail!("bad character reference near byte {pos}: {e}"),
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if stack.len() != 1 {
        bail!("XML document ends inside an unclosed element");
    }
    let mut doc = stack.pop().unwrap_or_default();
    match doc.children.len() {
        1 => Ok(doc.children.remove(0)),
        0 => bail!("empty XML document"),
        n => bail!("XML document has {n} root elements"),
    }
}

fn push_text(stack: &mut [Element], s: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(s);
    }
}

fn local_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_with_entities_and_cdata() {
        let doc = parse(
            b"<?xml version='1.0'?><rss><channel><item><title>a &amp; b &#x41;</title>\
              <description><![CDATA[<p>x</p>]]> &nbsp;</description><x/></item></channel></rss>",
        )
        .unwrap();
        let item = doc.child("channel").unwrap().child("item").unwrap();
        assert_eq!(item.child_text("title"), Some("a & b A"));
        assert_eq!(item.child_text("description"), Some("<p>x</p> &nbsp;"));
        assert!(item.child("x").is_some());
    }

    #[test]
    fn rejects_malformed_and_deep_documents() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<a/><b/>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        let err = parse(deep.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("deeper"), "{err}");
    }
}
