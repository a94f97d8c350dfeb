//! The posts of the Instagram accounts linked to the Facebook users' Pages, written by hand like
//! the Instagram Login accounts' (`../tables.rs`) and turned into media by the same code.

use chrono::TimeDelta;

use super::super::tables::Layout::{Album, Landscape, Portrait, Reel, Square, Video};
use super::super::tables::{Catalogue, Row};

// Post ids count down by about 1.2e12 a post from each `newest_id`: the ranges (17794…–17815…,
// 17776…–17790…, 17760…–17770…) stay below every Instagram Login account's (17826… and up).

/// `sandbox.tags`: 18 posts over about six weeks, from 2026-11-28T10:00:00Z back.
pub(super) const TAGS: Catalogue = Catalogue {
    rows: &TAGS_ROWS,
    namespace: "sandbox/facebook/tags",
    newest_id: 17_815_000_000_000_000,
    newest_at_unix: 1_795_860_000,
    gap: TimeDelta::hours(58),
};

/// `sandbox.north`: 12 posts over about a month, from 2026-11-25T15:00:00Z back.
pub(super) const NORTH: Catalogue = Catalogue {
    rows: &NORTH_ROWS,
    namespace: "sandbox/facebook/north",
    newest_id: 17_790_000_000_000_000,
    newest_at_unix: 1_795_618_800,
    gap: TimeDelta::hours(67),
};

/// `sandbox.south`: 9 posts over about three weeks, from 2026-11-20T09:00:00Z back.
pub(super) const SOUTH: Catalogue = Catalogue {
    rows: &SOUTH_ROWS,
    namespace: "sandbox/facebook/south",
    newest_id: 17_770_000_000_000_000,
    newest_at_unix: 1_795_165_200,
    gap: TimeDelta::hours(59),
};

#[rustfmt::skip]
const TAGS_ROWS: [Row; 18] = [
    (Square, Some("What we found under #coffee this week ☕ #roundup")),
    (Album("IVI"), Some("Three sunsets our followers tagged #sunset #community")),
    (Portrait, Some("Packing list for the next trip #travel #packing")),
    (Video, Some("How we pick the hashtags we follow #behindthescenes")),
    (Square, None),
    (Landscape, Some("Harbour at dusk #sunset #harbour")),
    (Square, Some("Flat white, again #coffee #flatwhite")),
    (Reel, Some("A week of #travel in 15 seconds 🔊 #reels")),
    (Album("II"), Some("Before / after the edit #photography #editing")),
    (Square, Some("Notes from the tag board #hashtags")),
    (Portrait, Some("Window seat #travel #sunrise")),
    (Square, None),
    (Video, Some("Pour-over in slow motion #coffee #slowmo")),
    (Square, Some("Our favourite #sunset of the month")),
    (Landscape, Some("Train through the hills #travel #rail")),
    (Album("IIII"), Some("Four cafés, one street #coffee #cafehopping")),
    (Square, Some("Tag scouting starts today #hello")),
    (Square, Some("Hello from the tags desk. #firstpost")),
];

#[rustfmt::skip]
const NORTH_ROWS: [Row; 12] = [
    (Portrait, Some("North studio, first snow #studio #winter")),
    (Square, Some("Client shoot wrap-up #photography #client")),
    (Album("IVI"), Some("Set design in three steps #setdesign")),
    (Square, None),
    (Video, Some("Lighting test, take 4 #lighting #bts")),
    (Landscape, Some("The view from the loading dock #northside")),
    (Square, Some("New backdrop colours #studio #colour")),
    (Reel, Some("Studio tour 🔊 #reels #studio")),
    (Square, Some("Props shelf, sorted #organised")),
    (Portrait, Some("Portrait session #portrait")),
    (Square, None),
    (Square, Some("Keys to the north studio #newchapter")),
];

#[rustfmt::skip]
const SOUTH_ROWS: [Row; 9] = [
    (Square, Some("South studio open day #openstudio")),
    (Album("II"), Some("Two rooms, two moods #interior")),
    (Landscape, Some("Courtyard light #southside #light")),
    (Video, Some("Painting the cyclorama #bts")),
    (Square, None),
    (Portrait, Some("Plants for the lobby #plants")),
    (Square, Some("Sign on the door #studio")),
    (Square, Some("Floor plan, final #architecture")),
    (Square, Some("We got the south studio! #hello")),
];
