//! The order flow, one for sandbox and live (DESIGN.md "Orders"): shops, placement with
//! idempotency keys and exact stock, payments behind a gateway trait, routing to
//! suppliers through a durable outbox, supplier fulfilment, after-sales, and the
//! statistics that feed matching. Domain code: no HTTP here.

pub mod checkout;
pub mod error;
pub mod flow;
pub mod links;
pub mod model;
pub mod money;
pub mod outbox;
pub mod payments;
pub mod place;
pub mod routing;
pub mod shop;
pub mod state;
pub mod stats;

pub use error::OrderError;
pub use place::{Buyer, NewLine, NewOrder};
pub use state::{CaseStatus, Mode, OrderStatus, SupplierStatus};

use crate::web::AppState;

/// The result of a placement: the order as it now stands, whether this request was a
/// replay of an earlier one, the buyer's link secret, and the payment's refusal if any.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: model::Order,
    pub replayed: bool,
    pub token: String,
    pub declined: Option<payments::PayError>,
}

/// Places an order: reserve, pay, settle. The two writes go through the state's
/// writer, which batches concurrent placements into one transaction on SQLite.
pub async fn place_order(state: &AppState, new: NewOrder) -> Result<Placed, OrderError> {
    let now = state.now().naive_utc();
    let links = state.links.clone();
    let request = new.clone();
    let reserved = state
        .write(move |conn| place::reserve(conn, &request, &links, now))
        .await?;
    let order = match reserved {
        place::Reserved::Replay(order) => {
            let token = state.links.token(&order.reference);
            return Ok(Placed {
                declined: None,
                order,
                replayed: true,
                token,
            });
        }
        place::Reserved::Fresh(order) => order,
    };
    let outcome = place::pay(&order, new.method, new.card.as_ref());
    let declined = outcome.result.err();
    let order_id = order.id;
    let order = state
        .write(move |conn| place::settle(conn, order_id, &outcome, now))
        .await?;
    if declined.is_none() {
        state.outbox_wake.notify_one();
    }
    let token = state.links.token(&order.reference);
    Ok(Placed {
        order,
        replayed: false,
        token,
        declined,
    })
}

#[cfg(test)]
mod tests {
    use super::payments::TEST_CARDS;
    use super::{CaseStatus, OrderStatus, SupplierStatus};
    use crate::i18n::Locale;

    /// Status and decline keys are built at run time; each one exists in both languages.
    #[test]
    fn every_status_and_decline_is_translated() {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(
            OrderStatus::ALL
                .iter()
                .map(|s| format!("orders.status.{s}")),
        );
        keys.extend(
            SupplierStatus::ALL
                .iter()
                .map(|s| format!("orders.status.{s}")),
        );
        keys.extend(CaseStatus::ALL.iter().map(|s| format!("orders.status.{s}")));
        for (_, outcome) in TEST_CARDS {
            if let Some(e) = outcome {
                keys.push(format!("checkout.declined.{}", e.code()));
            }
        }
        for locale in Locale::ALL {
            for key in &keys {
                assert!(
                    !locale.t(key).ends_with(key.as_str()),
                    "{key} ({})",
                    locale.code()
                );
            }
        }
        assert_eq!(Locale::En.t("orders.status.paid"), "Paid");
    }
}
