//! HTML input: the article out of a scraped page.
//!
//! One pass over the bytes tokenizes the page and builds a light element tree (tag,
//! parent, class/id hint, extent) holding the text blocks; script, style, svg and other
//! content that is never text is skipped without tokenizing it. Block scoring in the
//! manner of Readability then picks the article's container: long paragraphs with commas
//! score their ancestors, class and id hints and link density weigh the candidates, and
//! siblings that score well join the best one. Inside it, blocks under furniture
//! (navigation, share bars, comments, related links) and link lists are dropped.
//!
//! Tree building follows the parts of the HTML5 rules that decide where text lands
//! (implied `</p>` and `</li>`, void elements, end tags closing the nearest match);
//! depth and element count are bounded, so no page can make it slow or large.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::{memchr, memchr3, memmem};

use super::boilerplate::{Furniture, Verdict};
use super::normalize::{attribute, into_nfc, normalize, push_collapsed};
use super::text::add_credit;
use super::{Extracted, Removals};
use crate::record::parse_timestamp;

/// Open elements beyond this depth are not tracked (their text goes to the deepest one).
const MAX_DEPTH: usize = 256;
/// Elements tracked per page; later tags only delimit text.
const MAX_ELEMENTS: usize = 1 << 17;
/// End tags look this far down the open elements for their match, as misnested markup
/// rarely needs more and a deep page would otherwise cost quadratic time.
const END_TAG_SEARCH: usize = 32;
/// A block shorter than this says nothing about where the article is.
const MIN_SCORED_CHARS: usize = 25;
/// Ancestors a paragraph's score reaches.
const SCORE_LEVELS: usize = 5;
/// Class/id hint weight, as Readability.
const HINT_WEIGHT: f32 = 25.0;
/// A block with more of its text in links than this is a link list.
const MAX_BLOCK_LINK_DENSITY: f32 = 0.5;
/// Levels the article's root may move up to take in the rest of a split body.
const MAX_WIDENING: usize = 6;
/// Characters of a block that counts as article prose when widening.
const PROSE_MIN_CHARS: u32 = 80;
const NONE: u32 = u32::MAX;

/// A tag name: its first eight bytes, lowercase, packed into an integer.
type Name = u64;

const fn pack(tag: &[u8]) -> Name {
    let mut packed = 0u64;
    let mut i = 0;
    while i < tag.len() && i < 8 {
        packed |= (tag[i].to_ascii_lowercase() as u64) << (8 * i);
        i += 1;
    }
    packed
}

const ROOT: Name = 0;
const A: Name = pack(b"a");
const P: Name = pack(b"p");
const LI: Name = pack(b"li");
const H1: Name = pack(b"h1");
const BR: Name = pack(b"br");
const DIV: Name = pack(b"div");
const PRE: Name = pack(b"pre");
const TD: Name = pack(b"td");
const TH: Name = pack(b"th");
const TR: Name = pack(b"tr");
const BLOCKQUOTE: Name = pack(b"blockquote");
const META: Name = pack(b"meta");
const HTML: Name = pack(b"html");
const TIME: Name = pack(b"time");
const TITLE: Name = pack(b"title");
const ARTICLE: Name = pack(b"article");
const MAIN: Name = pack(b"main");
const HEADINGS: [Name; 6] = [
    pack(b"h1"),
    pack(b"h2"),
    pack(b"h3"),
    pack(b"h4"),
    pack(b"h5"),
    pack(b"h6"),
];

/// Elements with no content and no end tag.
const VOID: [Name; 14] = [
    pack(b"area"),
    pack(b"base"),
    pack(b"br"),
    pack(b"col"),
    pack(b"embed"),
    pack(b"hr"),
    pack(b"img"),
    pack(b"input"),
    pack(b"link"),
    pack(b"meta"),
    pack(b"param"),
    pack(b"source"),
    pack(b"track"),
    pack(b"wbr"),
];

/// Elements whose content is never article text: skipped up to their end tag.
const SKIPPED: [Name; 14] = [
    pack(b"script"),
    pack(b"style"),
    pack(b"noscript"),
    pack(b"svg"),
    pack(b"math"),
    pack(b"template"),
    pack(b"iframe"),
    pack(b"textarea"),
    pack(b"select"),
    pack(b"button"),
    pack(b"object"),
    pack(b"canvas"),
    pack(b"video"),
    pack(b"audio"),
];

/// Elements that start and end a block of text.
const BLOCKS: [Name; 34] = [
    pack(b"p"),
    pack(b"div"),
    pack(b"h1"),
    pack(b"h2"),
    pack(b"h3"),
    pack(b"h4"),
    pack(b"h5"),
    pack(b"h6"),
    pack(b"ul"),
    pack(b"ol"),
    pack(b"li"),
    pack(b"dl"),
    pack(b"dt"),
    pack(b"dd"),
    pack(b"table"),
    pack(b"tr"),
    pack(b"td"),
    pack(b"th"),
    pack(b"section"),
    pack(b"article"),
    pack(b"main"),
    pack(b"aside"),
    pack(b"nav"),
    pack(b"header"),
    pack(b"footer"),
    pack(b"form"),
    pack(b"figure"),
    pack(b"figcaption"),
    pack(b"blockquote"),
    pack(b"pre"),
    pack(b"address"),
    pack(b"hr"),
    pack(b"body"),
    pack(b"html"),
];

/// Elements that hold page furniture by their nature.
const FURNITURE: [Name; 7] = [
    pack(b"nav"),
    pack(b"aside"),
    pack(b"footer"),
    pack(b"header"),
    pack(b"form"),
    pack(b"figure"),
    pack(b"menu"),
];

/// ARIA roles of furniture.
const FURNITURE_ROLES: &[&str] = &[
    "navigation",
    "complementary",
    "contentinfo",
    "banner",
    "search",
    "dialog",
    "alert",
    "menu",
];

/// Class/id fragments of furniture (Readability's list, widened with what news CMSs use).
const NEGATIVE_HINTS: &[&str] = &[
    "comment",
    "disqus",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "sidebar",
    "widget",
    "promo",
    "sponsor",
    "advert",
    "-ad-",
    "adsbygoogle",
    "banner",
    "breadcrumb",
    "footer",
    "masthead",
    "menu",
    "newsletter",
    "subscribe",
    "signup",
    "popup",
    "modal",
    "cookie",
    "gdpr",
    "consent",
    "outbrain",
    "taboola",
    "byline",
    "author",
    "caption",
    "credit",
    "toolbar",
    "pagination",
    "pager",
    "skip",
    "sr-only",
    "visually-hidden",
    "screen-reader",
    "hidden",
    "trending",
    "most-read",
    "popular",
    "header",
    "masthead",
    "shoutbox",
    "combx",
    "skyscraper",
    "paywall",
    "login",
    "signin",
];

/// Whole class/id words of furniture, too short to match inside other words.
const NEGATIVE_WORDS: &[&str] = &[
    "ad", "ads", "nav", "navbar", "tags", "tag", "meta", "hid", "print", "rss", "share",
];

/// Class/id fragments of article containers.
const POSITIVE_HINTS: &[&str] = &[
    "article", "content", "entry", "hentry", "post", "story", "body", "main", "text", "blog",
    "embed",
];

/// `itemprop` values of the article body: the page says where its article is.
const ARTICLE_BODY_PROPS: &[&str] = &["articlebody", "text"];

/// Class and id vocabulary, compiled once.
pub struct Hints {
    negative: AhoCorasick,
    positive: AhoCorasick,
}

impl Hints {
    pub fn new() -> Self {
        let build = |list: &[&str]| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build(list)
                .expect("a fixed list of short words always builds")
        };
        Self {
            negative: build(NEGATIVE_HINTS),
            positive: build(POSITIVE_HINTS),
        }
    }

    /// +25 for an article-like class or id, -25 for a furniture-like one, 0 for both or
    /// neither.
    fn weight(&self, class_and_id: &str) -> f32 {
        if class_and_id.is_empty() {
            return 0.0;
        }
        let negative = self.negative.is_match(class_and_id)
            || class_and_id
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| NEGATIVE_WORDS.iter().any(|n| word.eq_ignore_ascii_case(n)));
        let positive = self.positive.is_match(class_and_id);
        match (positive, negative) {
            (true, false) => HINT_WEIGHT,
            (false, true) => -HINT_WEIGHT,
            _ => 0.0,
        }
    }
}

impl Default for Hints {
    fn default() -> Self {
        Self::new()
    }
}

struct Element {
    name: Name,
    parent: u32,
    /// The last descendant: the element's subtree is `index..=end`.
    end: u32,
    /// The nearest furniture element among this one and its ancestors, or NONE.
    furniture: u32,
    weight: f32,
    /// Text and link text in the subtree (after [`Page::aggregate`]).
    chars: u32,
    link_chars: u32,
    score: f32,
}

struct Block {
    /// The innermost open element when the block ended.
    element: u32,
    /// The block-level element the text belongs to.
    container: u32,
    text: String,
    chars: u32,
    link_chars: u32,
}

#[derive(Default)]
struct PageMeta {
    title_tag: Option<String>,
    og_title: Option<String>,
    h1: Option<String>,
    date: Option<String>,
    time_element: Option<String>,
    section: Option<String>,
    authors: Vec<String>,
    language: Option<String>,
}

struct Page<'a> {
    hints: &'a Hints,
    elements: Vec<Element>,
    open: Vec<u32>,
    open_links: u32,
    blocks: Vec<Block>,
    buffer: String,
    buffer_links: u32,
    after_line_break: bool,
    meta: PageMeta,
}

pub fn extract(html: &str, hints: &Hints, furniture: &Furniture) -> Extracted {
    let mut page = Page::new(hints);
    page.parse(html);
    page.aggregate();
    page.into_extracted(furniture)
}

impl<'a> Page<'a> {
    fn new(hints: &'a Hints) -> Self {
        let root = Element {
            name: ROOT,
            parent: NONE,
            end: 0,
            furniture: NONE,
            weight: 0.0,
            chars: 0,
            link_chars: 0,
            score: 0.0,
        };
        Self {
            hints,
            elements: vec![root],
            open: vec![0],
            open_links: 0,
            blocks: Vec::new(),
            buffer: String::new(),
            buffer_links: 0,
            after_line_break: false,
            meta: PageMeta::default(),
        }
    }

    fn parse(&mut self, html: &str) {
        let bytes = html.as_bytes();
        let mut pos = 0;
        while pos < bytes.len() {
            let Some(offset) = memchr(b'<', &bytes[pos..]) else {
                self.text(&html[pos..]);
                break;
            };
            let lt = pos + offset;
            if lt > pos {
                self.text(&html[pos..lt]);
            }
            pos = self.markup(html, lt);
        }
        self.flush();
        let last = self.elements.len() as u32 - 1;
        while let Some(index) = self.open.pop() {
            self.elements[index as usize].end = last;
        }
    }

    /// Handles the markup starting at `lt` (a `<`); returns where text resumes.
    fn markup(&mut self, html: &str, lt: usize) -> usize {
        let bytes = html.as_bytes();
        let rest = &bytes[lt..];
        if rest.starts_with(b"<!--") {
            return memmem::find(&rest[4..], b"-->").map_or(bytes.len(), |i| lt + 4 + i + 3);
        }
        match rest.get(1) {
            Some(b'!' | b'?') => memchr(b'>', rest).map_or(bytes.len(), |i| lt + i + 1),
            Some(b'/') if rest.get(2).is_some_and(u8::is_ascii_alphabetic) => {
                let name_end = tag_name_end(rest, 2);
                self.end_tag(pack(&rest[2..name_end]));
                memchr(b'>', &rest[name_end..]).map_or(bytes.len(), |i| lt + name_end + i + 1)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = tag_name_end(rest, 1);
                let name = pack(&rest[1..name_end]);
                let tag_end = lt + attributes_end(rest, name_end);
                let attributes = &html[lt + name_end..tag_end.min(bytes.len())];
                let after = (tag_end + 1).min(bytes.len());
                if SKIPPED.contains(&name) || name == TITLE {
                    let close = skip_to_end_tag(bytes, after, &rest[1..name_end]);
                    if name == TITLE && self.meta.title_tag.is_none() {
                        self.meta.title_tag = Some(normalize(&html[after..close.content_end]));
                    }
                    return close.resume;
                }
                self.start_tag(name, attributes);
                after
            }
            _ => {
                self.text("<");
                lt + 1
            }
        }
    }

    fn start_tag(&mut self, name: Name, attributes: &str) {
        if name == META {
            self.meta_tag(attributes);
            return;
        }
        if name == BR {
            self.line_break();
            return;
        }
        let is_block = BLOCKS.contains(&name);
        if is_block {
            self.flush();
            let top = self.top_name();
            if top == P || (name == LI && top == LI) {
                self.close_top();
            }
        }
        if VOID.contains(&name) || attributes.trim_end().ends_with('/') {
            return;
        }
        if self.open.len() >= MAX_DEPTH || self.elements.len() >= MAX_ELEMENTS {
            return;
        }
        let parent = self.top();
        let (weight, is_furniture) = self.judge_attributes(name, attributes);
        let index = self.elements.len() as u32;
        let inherited = self.elements[parent as usize].furniture;
        self.elements.push(Element {
            name,
            parent,
            end: index,
            furniture: if is_furniture { index } else { inherited },
            weight,
            chars: 0,
            link_chars: 0,
            score: 0.0,
        });
        self.open.push(index);
        if name == A {
            self.open_links += 1;
        }
    }

    /// The class/id weight of an element, and whether it is furniture.
    fn judge_attributes(&mut self, name: Name, attributes: &str) -> (f32, bool) {
        let mut class_and_id = String::new();
        let mut is_furniture = FURNITURE.contains(&name);
        let mut weight = 0.0;
        for (key, value) in Attributes::new(attributes) {
            let is = |name: &str| key.eq_ignore_ascii_case(name);
            match () {
                _ if is("class") || is("id") => {
                    class_and_id.push_str(value);
                    class_and_id.push(' ');
                }
                _ if is("role") => is_furniture |= FURNITURE_ROLES.contains(&value),
                _ if is("hidden") => is_furniture = true,
                _ if is("aria-hidden") => is_furniture |= value == "true",
                _ if is("style") => {
                    let style = value.to_ascii_lowercase().replace(' ', "");
                    is_furniture |=
                        style.contains("display:none") || style.contains("visibility:hidden");
                }
                _ if is("itemprop")
                    && ARTICLE_BODY_PROPS
                        .iter()
                        .any(|p| value.eq_ignore_ascii_case(p)) =>
                {
                    weight += 2.0 * HINT_WEIGHT;
                }
                _ if is("lang") && name == HTML => self.meta.language = Some(value.to_owned()),
                _ if is("datetime") && name == TIME && self.meta.time_element.is_none() => {
                    self.meta.time_element = Some(value.trim().to_owned());
                }
                _ => {}
            }
        }
        weight += self.hints.weight(&class_and_id);
        if name == ARTICLE || name == MAIN {
            weight += HINT_WEIGHT;
        }
        (weight, is_furniture || weight < 0.0)
    }

    fn meta_tag(&mut self, attributes: &str) {
        let (mut key, mut content) = (String::new(), None);
        for (name, value) in Attributes::new(attributes) {
            match name.to_ascii_lowercase().as_str() {
                "property" | "name" | "itemprop" => key = value.to_ascii_lowercase(),
                "content" => content = Some(attribute(value).into_owned()),
                _ => {}
            }
        }
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            return;
        };
        let meta = &mut self.meta;
        match key.as_str() {
            "og:title" | "twitter:title" => {
                meta.og_title.get_or_insert(content);
            }
            "article:published_time"
            | "datepublished"
            | "pubdate"
            | "publishdate"
            | "parsely-pub-date"
            | "dc.date"
            | "dc.date.issued"
            | "date"
            | "sailthru.date" => {
                meta.date.get_or_insert(content);
            }
            "article:section" | "section" | "parsely-section" => {
                meta.section.get_or_insert(content);
            }
            "author" | "article:author" | "parsely-author" | "byl" | "dc.creator" => {
                let name = content.strip_prefix("By ").unwrap_or(&content).trim();
                if !name.contains("://") && !name.is_empty() {
                    add_credit(&mut meta.authors, name.to_owned());
                }
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, name: Name) {
        if name == BR {
            self.line_break();
            return;
        }
        if BLOCKS.contains(&name) {
            self.flush();
        }
        let depth = self.open.len();
        let matched = (1..depth.min(END_TAG_SEARCH))
            .map(|i| depth - i)
            .find(|&i| self.elements[self.open[i] as usize].name == name);
        if let Some(position) = matched {
            while self.open.len() > position {
                self.close_top();
            }
        }
    }

    fn close_top(&mut self) {
        if self.open.len() <= 1 {
            return;
        }
        if let Some(index) = self.open.pop() {
            let last = self.elements.len() as u32 - 1;
            let element = &mut self.elements[index as usize];
            element.end = last;
            if element.name == A {
                self.open_links = self.open_links.saturating_sub(1);
            }
        }
    }

    fn top(&self) -> u32 {
        self.open.last().copied().unwrap_or(0)
    }

    fn top_name(&self) -> Name {
        self.elements[self.top() as usize].name
    }

    fn text(&mut self, raw: &str) {
        let appended = push_collapsed(&mut self.buffer, raw);
        if self.open_links > 0 {
            self.buffer_links += appended as u32;
        }
        if appended > 0 && !raw.trim_ascii().is_empty() {
            self.after_line_break = false;
        }
    }

    /// One `<br>` is a space; two in a row end a paragraph.
    fn line_break(&mut self) {
        if self.after_line_break {
            self.flush();
        } else {
            self.after_line_break = true;
            if !self.buffer.is_empty() && !self.buffer.ends_with(' ') {
                self.buffer.push(' ');
            }
        }
    }

    /// Ends the current block of text.
    fn flush(&mut self) {
        self.after_line_break = false;
        let links = std::mem::take(&mut self.buffer_links);
        let trimmed = self.buffer.trim();
        if !trimmed.chars().any(char::is_alphanumeric) {
            self.buffer.clear();
            return;
        }
        let text = into_nfc(trimmed.to_owned());
        self.buffer.clear();
        let element = self.top();
        let container = self.block_container(element);
        if self.meta.h1.is_none() && self.elements[container as usize].name == H1 {
            self.meta.h1 = Some(text.clone());
        }
        let chars = text.chars().count() as u32;
        self.blocks.push(Block {
            element,
            container,
            text,
            chars,
            link_chars: links.min(chars),
        });
        let element = &mut self.elements[element as usize];
        element.chars += chars;
        element.link_chars += links.min(chars);
    }

    /// The nearest block-level element at or above `index`.
    fn block_container(&self, mut index: u32) -> u32 {
        for _ in 0..MAX_DEPTH {
            let element = &self.elements[index as usize];
            if index == 0 || BLOCKS.contains(&element.name) {
                break;
            }
            index = element.parent;
        }
        index
    }

    /// Adds every element's text and link counts to its ancestors'.
    fn aggregate(&mut self) {
        for index in (1..self.elements.len()).rev() {
            let (chars, links, parent) = {
                let e = &self.elements[index];
                (e.chars, e.link_chars, e.parent as usize)
            };
            self.elements[parent].chars += chars;
            self.elements[parent].link_chars += links;
        }
    }

    fn link_density(&self, index: u32) -> f32 {
        let e = &self.elements[index as usize];
        if e.chars == 0 {
            0.0
        } else {
            e.link_chars as f32 / e.chars as f32
        }
    }

    /// Readability's scoring: each paragraph long enough scores its ancestors; the best
    /// candidate after class hints and link density is the article.
    fn best_candidate(&mut self, skip_furniture: bool) -> Option<u32> {
        let mut touched = Vec::new();
        for block in &self.blocks {
            if (block.chars as usize) < MIN_SCORED_CHARS
                || (skip_furniture && self.elements[block.element as usize].furniture != NONE)
            {
                continue;
            }
            let commas = block.text.matches([',', '，', '、']).count() as f32;
            let score = 1.0 + commas + (block.chars as f32 / 100.0).min(3.0);
            let mut ancestor = self.elements[block.container as usize].parent;
            for level in 0..SCORE_LEVELS {
                if ancestor == NONE {
                    break;
                }
                let element = &mut self.elements[ancestor as usize];
                if element.score == 0.0 {
                    element.score = base_score(element.name) + element.weight + f32::EPSILON;
                    touched.push(ancestor);
                }
                element.score += match level {
                    0 => score,
                    1 => score / 2.0,
                    _ => score / (level as f32 * 3.0),
                };
                ancestor = element.parent;
            }
        }
        for &index in &touched {
            let density = self.link_density(index);
            self.elements[index as usize].score *= 1.0 - density;
        }
        let best = touched.iter().copied().max_by(|a, b| {
            self.elements[*a as usize]
                .score
                .total_cmp(&self.elements[*b as usize].score)
        });
        if best.is_none_or(|b| self.elements[b as usize].score <= 0.0) {
            for &index in &touched {
                self.elements[index as usize].score = 0.0;
            }
            return None;
        }
        best
    }

    /// The best candidate and its siblings that score nearly as well.
    fn article_roots(&mut self) -> Vec<u32> {
        let Some(best) = self
            .best_candidate(true)
            .or_else(|| self.best_candidate(false))
        else {
            return vec![0];
        };
        let best_score = self.elements[best as usize].score;
        let best = self.widen(best);
        let parent = self.elements[best as usize].parent;
        if parent == NONE {
            return vec![best];
        }
        let threshold = (best_score * 0.2).max(10.0);
        let siblings = parent + 1..=self.elements[parent as usize].end;
        siblings
            .filter(|&i| {
                let e = &self.elements[i as usize];
                e.parent == parent
                    && (i == best
                        || (e.furniture != i
                            && (e.score >= threshold
                                || (e.name == P && e.chars > 80 && self.link_density(i) < 0.25))))
            })
            .collect()
    }

    /// Moves the article's root up while its parent adds article prose of its own (an
    /// article body split into several containers) rather than furniture.
    fn widen(&self, mut root: u32) -> u32 {
        for _ in 0..MAX_WIDENING {
            let parent = self.elements[root as usize].parent;
            if parent == NONE || parent == 0 {
                break;
            }
            let (mut inside, mut outside_prose, mut outside_other) = (0, 0, 0);
            for block in self.blocks_within(parent) {
                if self.contains(root, block.element) {
                    if self.is_prose(block, root) {
                        inside += block.chars;
                    }
                } else if self.is_prose(block, parent) {
                    outside_prose += block.chars;
                } else {
                    outside_other += block.chars;
                }
            }
            let adds_nothing = outside_prose + outside_other == 0;
            if !adds_nothing && (outside_prose < inside / 4 || outside_prose < outside_other) {
                break;
            }
            root = parent;
        }
        root
    }

    /// Long, hardly linked text not under furniture inside `root`.
    fn is_prose(&self, block: &Block, root: u32) -> bool {
        let furniture = self.elements[block.element as usize].furniture;
        block.chars >= PROSE_MIN_CHARS
            && block.link_chars * 5 < block.chars
            && (furniture == NONE || furniture <= root)
    }

    /// The blocks inside an element (blocks are in document order, elements in preorder).
    fn blocks_within(&self, ancestor: u32) -> &[Block] {
        let end = self.elements[ancestor as usize].end;
        let first = self.blocks.partition_point(|b| b.element < ancestor);
        let last = self.blocks.partition_point(|b| b.element <= end);
        &self.blocks[first..last.max(first)]
    }

    fn into_extracted(mut self, furniture: &Furniture) -> Extracted {
        let roots = self.article_roots();
        let meta = std::mem::take(&mut self.meta);
        let title = meta
            .h1
            .clone()
            .filter(|h| h.len() <= 300)
            .or(meta.og_title.clone())
            .or_else(|| meta.title_tag.as_deref().map(strip_site_name));
        let mut out = Extracted {
            date: meta.date.or(meta.time_element).map(|d| normalize_date(&d)),
            section: meta.section,
            language: meta.language,
            credits: meta.authors,
            ..Extracted::default()
        };
        let mut removed = Removals::default();
        let mut last_row = None;
        for block in std::mem::take(&mut self.blocks) {
            let Some(&root) = roots.iter().find(|&&r| self.contains(r, block.element)) else {
                if block.chars as usize >= MIN_SCORED_CHARS {
                    removed.add(&block.text, "outside the article");
                }
                continue;
            };
            let furniture_at = self.elements[block.element as usize].furniture;
            let holds_most_of_root =
                |at: u32| self.elements[at as usize].chars > self.elements[root as usize].chars / 2;
            if furniture_at != NONE && furniture_at > root && !holds_most_of_root(furniture_at) {
                removed.add(&block.text, "page furniture");
                continue;
            }
            if title.as_deref() == Some(block.text.as_str()) {
                removed.add(&block.text, "title");
                continue;
            }
            if block.link_chars as f32 > block.chars as f32 * MAX_BLOCK_LINK_DENSITY {
                removed.add(&block.text, "links");
                continue;
            }
            // A table row is one paragraph: its cells are data, not labels to judge.
            let row = self.row_of(&block);
            if let (Some(row), Some(paragraph)) = (row, out.paragraphs.last_mut()) {
                if last_row == Some(row) {
                    paragraph.push(' ');
                    paragraph.push_str(&block.text);
                    continue;
                }
            }
            last_row = row;
            if row.is_some() {
                out.paragraphs.push(block.text);
                continue;
            }
            match furniture.judge(&block.text) {
                Verdict::Keep => out.paragraphs.push(block.text),
                Verdict::Credit(holder) | Verdict::Caption(holder) => {
                    add_credit(&mut out.credits, holder);
                    removed.add(&block.text, "credit or caption");
                }
                Verdict::EndOfArticle => removed.add(&block.text, "label"),
                Verdict::Furniture(reason) => removed.add(&block.text, reason),
            }
        }
        out.title = title;
        out.removed = removed.into_vec();
        out
    }

    /// The table row a cell's block is in.
    fn row_of(&self, block: &Block) -> Option<u32> {
        let cell = &self.elements[block.container as usize];
        let row = cell.parent;
        let is_cell = cell.name == TD || cell.name == TH;
        (is_cell && row != NONE && self.elements[row as usize].name == TR).then_some(row)
    }

    fn contains(&self, ancestor: u32, index: u32) -> bool {
        ancestor <= index && index <= self.elements[ancestor as usize].end
    }
}

/// Readability's prior by tag: containers of prose up, lists and headings down.
fn base_score(name: Name) -> f32 {
    match name {
        DIV => 5.0,
        PRE | TD | BLOCKQUOTE => 3.0,
        _ if name == pack(b"form")
            || name == pack(b"ol")
            || name == pack(b"ul")
            || name == pack(b"dl")
            || name == pack(b"dd")
            || name == pack(b"dt")
            || name == LI
            || name == pack(b"address") =>
        {
            -3.0
        }
        _ if HEADINGS.contains(&name) || name == TH => -5.0,
        _ => 0.0,
    }
}

/// "Title | Site" → "Title".
fn strip_site_name(title: &str) -> String {
    for separator in [" | ", " – ", " — ", " - ", " :: "] {
        if let Some((head, _)) = title.rsplit_once(separator) {
            if head.split_whitespace().count() >= 3 {
                return head.trim().to_owned();
            }
        }
    }
    title.to_owned()
}

/// An RFC 3339 timestamp where the page's date parses as one, else the page's text.
fn normalize_date(date: &str) -> String {
    parse_timestamp(date).map_or_else(|| date.trim().to_owned(), |t| t.to_rfc3339())
}

fn tag_name_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
        .map_or(bytes.len(), |i| start + i)
}

/// The index of the `>` ending a start tag, skipping quoted attribute values; the
/// input's length when there is none.
fn attributes_end(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() {
        let Some(offset) = memchr3(b'>', b'"', b'\'', &bytes[pos..]) else {
            return bytes.len();
        };
        pos += offset;
        let quote = bytes[pos];
        if quote == b'>' {
            return pos;
        }
        match memchr(quote, &bytes[pos + 1..]) {
            Some(close) => pos += close + 2,
            // An unclosed quote: the tag ends at the next `>`, as it would have.
            None => return memchr(b'>', &bytes[pos..]).map_or(bytes.len(), |i| pos + i),
        }
    }
    bytes.len()
}

struct EndOfSkipped {
    content_end: usize,
    resume: usize,
}

/// Finds `</name` (any case) from `from`: where the skipped content ends and where
/// parsing resumes after the end tag.
fn skip_to_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> EndOfSkipped {
    let mut pos = from;
    while let Some(offset) = memmem::find(&bytes[pos..], b"</") {
        let start = pos + offset;
        let after = start + 2;
        let candidate = bytes.get(after..after + name.len());
        let terminated = bytes
            .get(after + name.len())
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'));
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name)) && terminated {
            let resume = memchr(b'>', &bytes[after..]).map_or(bytes.len(), |i| after + i + 1);
            return EndOfSkipped {
                content_end: start,
                resume,
            };
        }
        pos = after;
    }
    EndOfSkipped {
        content_end: bytes.len(),
        resume: bytes.len(),
    }
}

/// The `name="value"` pairs of a start tag's attribute text.
struct Attributes<'a> {
    rest: &'a str,
}

impl<'a> Attributes<'a> {
    fn new(text: &'a str) -> Self {
        Self { rest: text }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let after_name = rest[name_end..].trim_start();
        let Some(value_text) = after_name.strip_prefix('=') else {
            self.rest = after_name;
            return Some((name, ""));
        };
        let value_text = value_text.trim_start();
        let (value, remaining) = match value_text.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &value_text[1..];
                match body.find(quote) {
                    Some(close) => (&body[..close], &body[close + 1..]),
                    None => (body, ""),
                }
            }
            _ => {
                let end = value_text
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(value_text.len());
                (&value_text[..end], &value_text[end..])
            }
        };
        self.rest = remaining;
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(html: &str) -> Extracted {
        extract(html, &Hints::new(), &Furniture::new())
    }

    const PROSE: &str = "The council voted on Tuesday, after a long debate, to approve the plan, \
                         which will cost the city several million over the coming years.";

    #[test]
    fn picks_the_article_and_drops_furniture() {
        let html = format!(
            "<html><head><title>Plan approved | City Paper</title>\
             <script>var x = '<p>not text</p>';</script><style>p{{}}</style></head><body>\
             <div class=\"menu\"><a href=/>Home</a><a href=/n>News</a></div>\
             <div class=\"article-body\"><h1>Plan approved</h1><p>{PROSE}</p><p>{PROSE}</p>\
             <h2>What next</h2><p>{PROSE}<br><br>{PROSE}</p>\
             <div class=\"share-tools\"><p>Share this article on social networks now</p></div>\
             <p><a href=/1>Another story entirely</a></p></div>\
             <div id=\"comments\"><p>{PROSE}</p></div>\
             <!-- <p>commented out</p> --></body></html>"
        );
        let out = run(&html);
        assert_eq!(out.title.as_deref(), Some("Plan approved"));
        assert_eq!(out.paragraphs.len(), 5, "{:?}", out.paragraphs);
        assert_eq!(out.paragraphs[2], "What next");
        assert!(out.paragraphs.iter().all(|p| !p.contains("text")));
    }

    #[test]
    fn a_table_row_is_one_paragraph() {
        let out = run(&format!(
            "<div><p>{PROSE}</p><table><tr><th>Pos</th><th>Player</th><th>Plays</th></tr>\
             <tr><td>DL</td><td>Larry Ogunjobi</td><td>85%</td></tr></table><p>{PROSE}</p></div>"
        ));
        assert_eq!(
            out.paragraphs[1..3],
            ["Pos Player Plays", "DL Larry Ogunjobi 85%"]
        );
    }

    #[test]
    fn reads_attributes_with_quotes_and_entities() {
        let pairs: Vec<_> = Attributes::new(" class=\"a b\" id='x>y' hidden data-n=3 /").collect();
        assert_eq!(
            pairs,
            [
                ("class", "a b"),
                ("id", "x>y"),
                ("hidden", ""),
                ("data-n", "3")
            ]
        );
        let out = run(&format!(
            "<div title=\"a>b\"><p>Caf&eacute; &amp; bar &#8212; {PROSE}</p></div>"
        ));
        assert!(out.paragraphs[0].starts_with("Café & bar — The council"));
    }

    #[test]
    fn survives_hostile_input() {
        let deep = "<div>".repeat(200_000) + PROSE + &"</div>".repeat(200_000);
        assert!(run(&deep).paragraphs[0].contains("council"));
        let unclosed = "<p class=\"".to_owned() + &"x".repeat(100_000);
        assert!(run(&unclosed).paragraphs.is_empty());
        let garbage: String = (0..2_000_000u32)
            .map(|i| char::from_u32(i.wrapping_mul(2_654_435_761) % 0x800).unwrap_or('<'))
            .collect();
        run(&garbage);
        let big = format!(
            "<html><body>{}</body></html>",
            format!("<p>{PROSE}</p>").repeat(80_000)
        );
        assert!(big.len() > 10_000_000);
        assert!(run(&big).paragraphs.len() > 1_000);
        for fragment in [
            "<",
            "</",
            "<!--",
            "<!",
            "<a",
            "<a href='",
            "</a",
            "&",
            "&#",
            "&#x;",
        ] {
            run(fragment);
        }
    }
}
