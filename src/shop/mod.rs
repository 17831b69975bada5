//! The buyer's side: public shop pages, cart and guest checkout, the order page behind
//! its secret link, and the JSON API that simulated (and scripted) buyers order through.

pub mod api;
pub mod cart;
pub mod order_page;
pub mod pages;
