//! Any bytes through the clean stage, read as HTML and as text: it must neither panic
//! nor hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use newsflow::record::{ContentType, RawArticle};
use newsflow::stage::clean::Clean;
use newsflow::stage::{Article, Stage};

fuzz_target!(|data: &[u8]| {
    static CLEAN: OnceLock<Clean> = OnceLock::new();
    let clean = CLEAN.get_or_init(Clean::new);
    let body = String::from_utf8_lossy(data);
    for content_type in [ContentType::Html, ContentType::Text] {
        let mut raw = RawArticle::text("fuzz", body.as_ref());
        raw.content_type = content_type;
        let mut article = Article::new(raw);
        clean.apply(&mut article).expect("the clean stage accepts any text");
    }
});
