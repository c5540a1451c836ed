//! Short news items (a title and a sentence or two, as other outlets write them) with the
//! top-level topic a reader would give them: the model must generalise beyond long
//! articles of one outlet. These items were written for these tests; the model has not
//! seen them.

use super::MIN_PROBABILITY;
use crate::stage::reference::for_tests;

const ITEMS: &[(&str, &str, &str)] = &[
    ("01000000", "Veteran actor wins best actor award at Venice film festival", "The star of the period drama thanked the director and the cast."),
    ("01000000", "Pop singer announces world tour after chart-topping album", "The 12-date tour begins in May, her record label said."),
    ("01000000", "Museum opens exhibition of rare Impressionist paintings", "The gallery expects more than 200,000 visitors to the show."),
    ("02000000", "Man charged with murder after fatal stabbing in city centre", "Police said the suspect will appear before magistrates on Monday."),
    ("02000000", "Former mayor jailed for five years over bribery scheme", "The judge said the fraud had betrayed public trust."),
    ("02000000", "Court convicts gang leader of drug trafficking", "Prosecutors said the network smuggled cocaine through the port."),
    ("03000000", "Earthquake kills dozens in mountain villages", "Rescuers are searching the rubble for survivors as the death toll rises."),
    ("03000000", "Train derails near station, injuring 40 passengers", "Emergency services said several of the injured were in serious condition."),
    ("03000000", "Floods force thousands to evacuate homes", "Rising rivers burst their banks after days of rain, and rescue teams used boats."),
    ("04000000", "Central bank raises interest rates to curb inflation", "Economists had expected the quarter-point increase as prices kept rising."),
    ("04000000", "Carmaker's profits jump as sales surge in Asia", "Shares in the company rose 5% after it raised its full-year forecast."),
    ("04000000", "Oil prices fall as OPEC raises output", "Brent crude dropped below $80 a barrel in early trading."),
    ("05000000", "Schools face teacher shortage as new term begins", "Head teachers say classes are being merged because of a lack of staff."),
    ("05000000", "University tuition fees to rise next year", "Students' groups warned the increase would deter poorer applicants."),
    ("05000000", "Exam results show rise in top grades", "Pupils across the country collected their results on Thursday."),
    ("06000000", "Global warming threatens coral reefs, scientists warn", "Rising sea temperatures have bleached large areas of the reef, the study of emissions found."),
    ("06000000", "Government bans single-use plastics to cut pollution", "Environmental groups welcomed the move to protect wildlife."),
    ("06000000", "Endangered species return to restored wetland", "Conservation groups say the habitat now supports rare birds."),
    ("07000000", "Hospital waiting lists reach record high", "Patients are waiting months for routine surgery, doctors said."),
    ("07000000", "New vaccine cuts malaria infections in children", "The World Health Organization said the trial results were encouraging."),
    ("07000000", "Flu outbreak closes wards", "Health officials urged people to get vaccinated as the virus spreads."),
    ("09000000", "Rail workers strike over pay", "The union said the walkout would continue until the employer improves its offer."),
    ("09000000", "Factory to cut 800 jobs", "Workers were told of the redundancies on Monday; unions called the job losses a blow."),
    ("09000000", "Minimum wage to rise in April", "Employers' groups said the wage increase would add to labour costs."),
    ("10000000", "Summer holiday bookings soar as travel rebounds", "Tour operators said hotels in popular resorts were almost full."),
    ("10000000", "Chef's new restaurant earns rave reviews", "The menu pairs regional cuisine with local wine."),
    ("11000000", "Prime minister calls snap election", "Opposition parties said they were ready for the campaign as parliament was dissolved."),
    ("11000000", "Leaders meet at summit to discuss trade and security", "The president and the foreign minister held bilateral talks with their counterparts."),
    ("11000000", "Parliament passes controversial immigration bill", "The legislation was approved after the government survived a vote by 20 votes."),
    ("11000000", "Senator announces bid for presidency", "The Republican lawmaker will compete in the party's primary elections."),
    ("12000000", "Pope calls for peace in Christmas message", "Thousands of pilgrims gathered in St Peter's Square for the Vatican blessing."),
    ("12000000", "Muslims begin Ramadan fasting", "Mosques prepared for large crowds at evening prayers."),
    ("13000000", "Tech giant unveils new smartphone with faster chip", "The device also features an improved camera and longer battery life."),
    ("13000000", "Scientists discover water ice on distant planet", "The telescope data suggest the planet could hold large reserves, researchers said."),
    ("13000000", "Hackers steal data of millions of users", "The software company said the cyber attack exploited a security flaw."),
    ("14000000", "Homelessness rises as housing costs soar", "Charities say more families are living in temporary accommodation."),
    ("14000000", "Thousands march for women's rights", "Protesters demanded an end to discrimination and equal pay."),
    ("15000000", "Striker scores twice as United beat City", "The win lifts the club to third in the league table."),
    ("15000000", "Champion wins fifth Wimbledon title", "She beat her rival in straight sets in the final."),
    ("15000000", "Sprinter breaks world record at championships", "The athlete won gold in the 100m final."),
    ("16000000", "Troops withdraw after ceasefire agreed", "The army said fighting with rebel forces had stopped along the front line."),
    ("16000000", "Air strikes hit militant positions", "The military said the bombing targeted weapons depots; civilians fled the attack."),
    ("17000000", "Heatwave brings record temperatures", "Forecasters said the hot weather would last into next week."),
    ("17000000", "Storm brings heavy snow and gale-force winds", "The Met Office issued warnings for rain and ice."),
];

fn first_topic(title: &str, body: &str) -> String {
    let topics = for_tests().topics.classify(title, body);
    topics.first().map_or("none".into(), |t| t.qcode.clone())
}

#[test]
fn short_items_from_other_outlets_get_their_topic() {
    let mut misses = Vec::new();
    for (code, title, body) in ITEMS {
        let first = first_topic(title, body);
        if first != format!("medtop:{code}") {
            misses.push(format!("{code} <- {first}: {title}"));
        }
    }
    let accuracy = 1.0 - misses.len() as f64 / ITEMS.len() as f64;
    assert!(
        accuracy >= SHORT_ITEMS_ACCURACY,
        "accuracy {accuracy:.2}, misses:\n{}",
        misses.join("\n")
    );
}

/// What the shipped model reaches on [`ITEMS`], less a margin for retraining.
const SHORT_ITEMS_ACCURACY: f64 = 0.8;

#[test]
fn empty_or_topicless_text_gets_no_confident_topic() {
    let model = &for_tests().topics;
    assert!(model.classify("", "").is_empty());
    assert!(model.classify("", "1 2 3 … — !!").is_empty());
    // Filler words are weak evidence of the topics whose headlines use them (a calibrated
    // guess under even odds), never a confident topic.
    for (title, body) in [
        ("Hello", "Nothing to see."),
        ("Update", "More to follow."),
        ("Subscribe now", "Sign up for our newsletter."),
    ] {
        let topics = model.classify(title, body);
        assert!(
            topics.iter().all(|topic| topic.score < 0.45),
            "{title}: {topics:?}"
        );
    }
}

#[test]
fn long_articles_keep_their_topic() {
    // A long article is many words that each say little: the model must add them up,
    // not fall back on the largest topic of its training data (politics).
    let paragraph = "The striker scored twice in the second half as the club won the league \
                     match, and the manager praised his players after the final whistle. \
                     The goalkeeper saved a penalty and the fans sang in the stadium. ";
    let body = paragraph.repeat(40);
    assert_eq!(first_topic("Cup run goes on", &body), "medtop:15000000");
}

#[test]
fn topics_are_calibrated_probabilities_with_their_evidence() {
    let topics = for_tests().topics.classify(
        "Central bank raises interest rates to curb inflation",
        "Economists had expected the quarter-point increase as prices kept rising, and \
         shares fell on the stock market.",
    );
    assert_eq!(topics[0].qcode, "medtop:04000000", "{topics:?}");
    let mut previous = 1.0;
    for topic in &topics {
        assert!(
            (f64::from(MIN_PROBABILITY)..=1.0).contains(&topic.score),
            "{topic:?}"
        );
        if topic.parent.is_none() {
            assert!(topic.score <= previous, "best first: {topics:?}");
            previous = topic.score;
        }
    }
    let evidence = &topics[0].evidence;
    assert!(!evidence.is_empty() && evidence.len() <= 5, "{evidence:?}");
    let text = "central bank raises interest rates to curb inflation economists had expected \
                the quarter point increase as prices kept rising and shares fell on the stock \
                market";
    for term in evidence {
        assert!(text.contains(term.as_str()), "{term} is not in the article");
    }
}

#[test]
fn the_model_names_the_seventeen_iptc_topics_and_has_a_version() {
    let model = &for_tests().topics;
    let head = model.heads()[0];
    assert_eq!(head.count, 17);
    let list = include_str!("../../../../data/topics/iptc-media-topics.tsv");
    for label in &model.labels()[head.first..head.first + head.count] {
        let row = format!("{}\t1\t-\t{}\t{}\t", label.qcode, label.qcode, label.name);
        assert!(
            list.contains(&row),
            "{} {} is not a top-level topic",
            label.qcode,
            label.name
        );
    }
    assert!(
        model.version().starts_with("iptc-linear-"),
        "{}",
        model.version()
    );
}

#[test]
fn evidence_leaves_out_words_that_every_article_has() {
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/golden/seed/article.json")).unwrap();
    let body = seed["body"].as_str().unwrap();
    let topics = for_tests().topics.classify("", body);
    assert!(
        topics.len() >= 2,
        "a topic and its second-level topic: {topics:?}"
    );
    for topic in &topics {
        assert!(!topic.evidence.is_empty(), "{topic:?}");
        for common in ["the", "a", "that", "of the"] {
            assert!(!topic.evidence.iter().any(|t| t == common), "{topic:?}");
        }
    }
}
