//! The sandbox's Instagram accounts: who they are (ids, username, the profile `/me` returns) and
//! which posts they have. The first is the default, picked when an authorization does not name
//! one, so a single-account setup sees exactly what it always saw.

use super::tables::{self, Catalogue};

/// One sandbox account. Optional profile fields are absent from `/me` when `None`, as on
/// Instagram for an account that has not filled them in.
pub(super) struct User {
    /// The Instagram account id (`user_id` on `/me`).
    pub user_id: &'static str,
    /// The app-scoped id the code exchange reports (`id` on `/me`), different from the account
    /// id as on Instagram.
    pub app_scoped_id: &'static str,
    pub username: &'static str,
    pub name: &'static str,
    pub account_type: &'static str,
    pub followers_count: u64,
    pub follows_count: u64,
    pub biography: Option<&'static str>,
    pub website: Option<&'static str>,
    /// The hues its pictures' skies are drawn from: `start` and a span in degrees, so each
    /// account's feed has its own look.
    pub hues: (u32, u32),
    pub catalogue: &'static Catalogue,
}

impl User {
    pub fn media_count(&self) -> usize {
        self.catalogue.rows.len()
    }
}

const GALLERY: User = User {
    user_id: "17841400000000001",
    app_scoped_id: "1020000000000001",
    username: "sandbox.gallery",
    name: "Sandbox Gallery",
    account_type: "MEDIA_CREATOR",
    followers_count: 1_284,
    follows_count: 311,
    biography: Some("Photographs from places real and imagined 📷\nPrints in the shop."),
    website: Some("https://gallery.example.com/"),
    // Any hue: the pictures the sandbox has always drawn.
    hues: (0, 360),
    catalogue: &tables::GALLERY,
};

const CAFE: User = User {
    user_id: "17841400000000002",
    app_scoped_id: "1020000000000002",
    username: "sandbox.cafe",
    name: "Sandbox Café",
    account_type: "BUSINESS",
    followers_count: 5_321,
    follows_count: 87,
    biography: Some("Specialty coffee & pastries ☕ Open daily 8–18"),
    website: Some("https://cafe.example.com/menu"),
    // Warm: oranges and browns.
    hues: (10, 40),
    catalogue: &tables::CAFE,
};

/// The account without `biography` and `website`.
const SHOP: User = User {
    user_id: "17841400000000003",
    app_scoped_id: "1020000000000003",
    username: "sandbox.shop",
    name: "Sandbox Shop",
    account_type: "BUSINESS",
    followers_count: 942,
    follows_count: 1_020,
    biography: None,
    website: None,
    // Cool: teals and blues.
    hues: (170, 60),
    catalogue: &tables::SHOP,
};

static USERS: [User; 3] = [GALLERY, CAFE, SHOP];

/// The sandbox accounts' usernames, the default first. `sandbox_user=<username>` on the
/// authorize URL (see [`super::with_sandbox_user`]) picks one.
pub const SANDBOX_USERS: &[&str] = &[GALLERY.username, CAFE.username, SHOP.username];

/// The default account's ids, as they have always been.
pub const USER_ID: &str = GALLERY.user_id;
pub const USERNAME: &str = GALLERY.username;

/// The account at `index` (0 is the default).
pub(super) fn get(index: usize) -> Option<&'static User> {
    USERS.get(index)
}

/// The index of the account called `username`.
pub(super) fn index_of(username: &str) -> Option<usize> {
    USERS.iter().position(|user| user.username == username)
}

pub(super) fn all() -> &'static [User] {
    &USERS
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_usernames_list_the_table_in_order() {
        let names: Vec<&str> = all().iter().map(|u| u.username).collect();
        assert_eq!(names, SANDBOX_USERS);
        assert_eq!(SANDBOX_USERS[0], "sandbox.gallery");
        assert_eq!(index_of("sandbox.shop"), Some(2));
        assert_eq!(index_of("nobody"), None);
    }

    #[test]
    fn accounts_are_distinct() {
        for field in [
            |u: &User| u.user_id,
            |u: &User| u.app_scoped_id,
            |u: &User| u.username,
            |u: &User| u.name,
        ] {
            let values: HashSet<&str> = all().iter().map(field).collect();
            assert_eq!(values.len(), all().len());
        }
        let counts: HashSet<usize> = all().iter().map(User::media_count).collect();
        assert_eq!(counts, HashSet::from([60, 24, 36]));
        assert!(
            all()
                .iter()
                .any(|u| u.biography.is_none() && u.website.is_none())
        );
    }
}
