//! The sandbox accounts' posts as written by hand, newest first, and what makes each account's
//! derived values (ids, timestamps) its own. `posts.rs` turns them into media.

use chrono::TimeDelta;

/// A post of a table: its layout and caption (`None`: no caption, the key is then absent).
pub(super) type Row = (Layout, Option<&'static str>);

/// One account's posts and what its derived values start from.
pub(super) struct Catalogue {
    pub rows: &'static [Row],
    /// Every hashed value (ids, jitter) is derived from a string under this prefix, so two
    /// accounts never share one.
    pub namespace: &'static str,
    /// The newest post's id before jitter; older posts count down from it.
    pub newest_id: u64,
    /// The newest post is within an hour after this Unix time.
    pub newest_at_unix: i64,
    /// The gap between two posts, before jitter (which stays below an hour).
    pub gap: TimeDelta,
}

/// How a post of the table is laid out.
#[derive(Clone, Copy)]
pub(super) enum Layout {
    /// A 1080x1080 image.
    Square,
    /// A 1080x1350 image.
    Portrait,
    /// A 1080x566 image (1.91:1, the widest Instagram keeps).
    Landscape,
    /// A 4:5 feed video.
    Video,
    /// A 9:16 reel with licensed music: Instagram withholds its `media_url`.
    Reel,
    /// A carousel; one letter per child, `I` image or `V` video. The first child (the cover,
    /// whose URL the album itself carries) is always an image.
    Album(&'static str),
}

use Layout::{Album, Landscape, Portrait, Reel, Square, Video};

// Post ids count down by about 1.2e12 a post (see `posts.rs`); the accounts' ranges do not
// overlap: the café's 17961…–17990…, the gallery's 17877…–17950…, the shop's 17826…–17870….

/// 60 posts over about three months, from 2026-11-01T12:00:00Z back. Its values are pinned:
/// they are what the sandbox has always served.
pub(super) const GALLERY: Catalogue = Catalogue {
    rows: &GALLERY_ROWS,
    namespace: "sandbox",
    newest_id: 17_950_000_000_000_000,
    newest_at_unix: 1_793_534_400,
    gap: TimeDelta::hours(37),
};

/// 24 posts over about two months, from 2026-10-31T07:30:00Z back.
pub(super) const CAFE: Catalogue = Catalogue {
    rows: &CAFE_ROWS,
    namespace: "sandbox/cafe",
    newest_id: 17_990_000_000_000_000,
    newest_at_unix: 1_793_431_800,
    gap: TimeDelta::hours(61),
};

/// 36 posts over about eleven weeks, from 2026-10-30T16:00:00Z back.
pub(super) const SHOP: Catalogue = Catalogue {
    rows: &SHOP_ROWS,
    namespace: "sandbox/shop",
    newest_id: 17_870_000_000_000_000,
    newest_at_unix: 1_793_376_000,
    gap: TimeDelta::hours(53),
};

/// The default account's posts, newest first. The captions exercise hashtag parsing: non-ASCII
/// tags, repeats, mixed case, tags glued together (`#sunset#beach`), punctuation and emoji right
/// after a tag, line breaks; `None` is a post without caption (the key is then absent).
#[rustfmt::skip]
const GALLERY_ROWS: [Row; 60] = [
    (Square, Some("First frost on the terrace. #winter #garden")),
    (Album("IVI"), Some("Weekend market haul 🧺 #café #market #Café")),
    (Portrait, Some("golden hour #sunset#beach.")),
    (Video, Some("Waves, on repeat. #ocean #sunset 🌊")),
    (Square, None),
    (Square, Some("Flat white and a croissant #café☕ #breakfast")),
    (Reel, Some("Behind the scenes of our autumn shoot, sound on 🎬 #reels #bts")),
    (Portrait, Some("Kyoto in the rain #日本 #kyoto #travel")),
    (Square, Some("#Sunset again, no regrets. #sunset #nofilter")),
    (Album("II"), Some("Two views from the same bench #parkbench #über")),
    (Square, Some("Über den Dächern von Berlin #über #berlin")),
    (Square, None),
    (Video, Some("Latte art practice, attempt #37 #café #barista")),
    (Portrait, Some("Ramen night 🍜 #日本料理 #ramen")),
    (Square, Some("New prints in the shop — link in bio.\n\n#prints #art")),
    (Album("IIVII"), Some("Five frames from Lisbon #lisbon #travel #sunset")),
    (Square, Some("Sunday slow. #sunday")),
    (Square, Some("crème brûlée #dessert #crèmebrûlée")),
    (Portrait, None),
    (Video, Some("Timelapse: clouds rolling over the ridge #timelapse #mountains")),
    (Landscape, Some("Olive grove, late afternoon #olive #sunset")),
    (Square, Some("Studio corner #workspace#design #Design")),
    (Album("IV"), Some("Making of the new menu #café #menu")),
    (Square, Some("Tokyo at night #日本 #tokyo #neon")),
    (Square, Some("Rainy window, warm tea. #tea #rain ☔")),
    (Portrait, Some("Portrait of a very patient dog #dog #goodboy🐶")),
    (Reel, Some("Our first reel with music 🔊 #reels #music")),
    (Square, None),
    (Square, Some("Straße, Ecke, Licht #straße #über #streetphotography")),
    (Album("IIII"), Some("Four seasons from the same window #seasons")),
    (Square, Some("Peaches! #summer #fruit")),
    (Video, Some("Pouring the espresso in slow motion #café #slowmo")),
    (Portrait, Some("Sunset over the dunes #Sunset #desert")),
    (Square, Some("Fresh bread, still warm. #bakery #bread")),
    (Square, Some("Snow in Sapporo ❄️ #日本 #hokkaido #snow")),
    (Square, None),
    (Album("IVIV"), Some("Our team, our kitchen\n#team #kitchen #café")),
    (Square, Some("Mañana será otro día #mañana #sunset")),
    (Portrait, Some("Minimal #minimal")),
    (Landscape, Some("Blue hour in the old town #bluehour #oldtown")),
    (Video, Some("Steam rising from the kettle #tea #morning")),
    (Square, Some("Cheers to ten years! 🎉#anniversary #10years")),
    (Square, None),
    (Square, Some("Field notes, page 12 #sketchbook #art")),
    (Album("III"), Some("Three takes on the same sunset #sunset #sunset #photography")),
    (Portrait, Some("Ceramics drying in the sun #ceramics #handmade")),
    (Square, Some("Lemon tart #dessert #café")),
    (Landscape, Some("The ferry at dawn #ferry #dawn")),
    (Video, Some("Market day walk-through #market #über")),
    (Square, None),
    (Landscape, Some("Wildflowers by the road #flowers #spring")),
    (Portrait, Some("Kimono fitting in Kanazawa #日本 #kanazawa #着物")),
    (Album("IVI"), Some("Open studio day, swipe for the video ➡️ #openstudio #art")),
    (Square, Some("Harvest #autumn #harvest")),
    (Square, Some("Rooftop garden, finally green #garden #rooftop")),
    (Square, None),
    (Portrait, Some("Lanterns #日本 #festival")),
    (Video, Some("Our very first video, be kind #hello")),
    (Square, Some("Opening day! Thank you all ❤️ #opening #café #grandopening")),
    (Square, Some("Hello world. #hello #firstpost")),
];

#[rustfmt::skip]
const CAFE_ROWS: [Row; 24] = [
    (Square, Some("Pumpkin spice is back, sorry not sorry 🎃 #autumn #latte")),
    (Album("III"), Some("This week's pastry case #pastry #croissant #café")),
    (Video, Some("Dialing in the new Ethiopian roast #espresso #barista")),
    (Portrait, Some("Cinnamon buns, 7:45 am #bakery #cinnamon")),
    (Square, None),
    (Square, Some("Oat, almond or whole? #flatwhite #café")),
    (Landscape, Some("Terrace season is over, see you inside #terrace")),
    (Album("IVI"), Some("Latte art throwdown, swipe for the winner ➡️ #latteart #barista")),
    (Square, Some("Crème brûlée Fridays #dessert #crèmebrûlée")),
    (Portrait, Some("Pour-over, slowly #pourover #specialtycoffee")),
    (Square, Some("Our beans, roasted two streets away #roastery #local")),
    (Video, Some("Steaming milk, ASMR edition 🔊 #asmr #café")),
    (Square, None),
    (Square, Some("Lemon poppy seed loaf #bakery #lemon")),
    (Album("II"), Some("Before and after the morning rush #behindthescenes")),
    (Portrait, Some("Iced, of course #icedcoffee #summer")),
    (Square, Some("Matcha, the second most asked-for drink #matcha #抹茶")),
    (Landscape, Some("Queue out the door on Saturday ❤️ #thankyou #café")),
    (Square, Some("New cups! #merch #design")),
    (Video, Some("How we fold a croissant #croissant #bakery")),
    (Square, Some("Soft opening, come say hi #opening #café")),
    (Portrait, None),
    (Square, Some("Painting the counter #renovation")),
    (Square, Some("Keys in hand. #newchapter #café")),
];

#[rustfmt::skip]
const SHOP_ROWS: [Row; 36] = [
    (Album("IIII"), Some("The winter collection is live #newin #winter")),
    (Square, Some("Wool scarf in rust #knitwear #handmade")),
    (Reel, Some("Packing your orders, sound on 📦 #smallbusiness #reels")),
    (Portrait, Some("Stoneware mugs, each one different #ceramics #handmade")),
    (Square, Some("Back in stock: the linen tote #tote #linen")),
    (Square, None),
    (Video, Some("Glazing day in the studio #ceramics #process")),
    (Landscape, Some("Our shelf at the Saturday market #market #shoplocal")),
    (Square, Some("Gift cards, for the undecided 🎁 #giftideas")),
    (Album("IV"), Some("Two ways to wear the wrap #styling #knitwear")),
    (Portrait, Some("Candle no. 4: fig & cedar #candles #homedecor")),
    (Square, Some("Sale ends Sunday #sale #Sale")),
    (Square, Some("Notebook restock ✏️ #stationery #paper")),
    (Square, None),
    (Reel, Some("Unboxing the new ceramics 🎶 #reels #unboxing")),
    (Portrait, Some("Hand-dyed yarn, batch 12 #yarn #handdyed")),
    (Album("III"), Some("Studio tour, part one #studio #behindthescenes")),
    (Square, Some("Brass hooks #homedecor #minimal")),
    (Landscape, Some("Window display for autumn #windowdisplay #autumn")),
    (Square, Some("Free shipping this weekend #freeshipping #shoplocal")),
    (Video, Some("How we wrap a parcel #packaging #smallbusiness")),
    (Square, Some("Tea towels, three colours #kitchen #linen")),
    (Square, None),
    (Portrait, Some("Our bestseller, again #bestseller #ceramics")),
    (Album("IIVI"), Some("Summer market recap #market #summer")),
    (Square, Some("Soap bars, unscented #soap #natural")),
    (Square, Some("Straw hats are here ☀️ #summer #hats")),
    (Landscape, Some("Loading the van for the fair #craftfair #roadtrip")),
    (Square, Some("Postcards by local artists #art #postcards")),
    (Square, None),
    (Video, Some("One year of the shop in 30 seconds #anniversary")),
    (Portrait, Some("Wooden spoons, oiled and ready #woodwork #kitchen")),
    (Square, Some("Our first product photo, be kind #throwback")),
    (Square, Some("Shelves up, boxes open #newshop #shoplocal")),
    (Album("II"), Some("The sign went up today! #opening #shoplocal")),
    (Square, Some("Hello from the shop. #hello #firstpost")),
];
