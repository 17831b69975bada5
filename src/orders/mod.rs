//! The order flow, one for sandbox and live (DESIGN.md "Orders"): shops, placement with
//! idempotency keys and exact stock, payments behind a gateway trait, routing to
//! suppliers through a durable outbox, supplier fulfilment, after-sales, and the
//! statistics that feed matching. Domain code: no HTTP here.

pub mod checkout;
pub mod deferred;
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

/// The result of a placement: the order as it now stands with its lines and supplier
/// parts, whether this request was a replay of an earlier one, the buyer's link secret,
/// and the payment's refusal if any (a replay of a refused order reports it again).
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: model::Order,
    pub lines: Vec<model::Line>,
    pub parts: Vec<model::SupplierOrder>,
    pub replayed: bool,
    pub token: String,
    pub declined: Option<payments::PayError>,
}

/// An order, its lines and parts, its decline if any, and whether it was a replay.
type Finished = (
    model::Order,
    Vec<model::Line>,
    Vec<model::SupplierOrder>,
    Option<payments::PayError>,
    bool,
);

/// The order as the buyer sees it after placement, read in the same transaction.
fn finish(
    conn: &mut crate::db::DbConn,
    order: model::Order,
    replayed: bool,
    declined: Option<payments::PayError>,
) -> Result<Finished, OrderError> {
    let declined = match (declined, replayed) {
        (None, true) if order.status == OrderStatus::PaymentFailed.as_str() => {
            model::payments_of(conn, order.id)?
                .iter()
                .rev()
                .find_map(|p| {
                    p.error_code
                        .as_deref()
                        .and_then(payments::PayError::from_code)
                })
        }
        (d, _) => d,
    };
    let lines = model::lines(conn, order.id)?;
    let parts = model::supplier_orders_of(conn, order.id)?;
    Ok((order, lines, parts, declined, replayed))
}

/// Places an order: reserve, pay, settle. With an in-process gateway (sandbox cards,
/// cash on delivery) the three run as one job of the writer, which batches concurrent
/// placements into one transaction (`db::writer`); a remote gateway is called between
/// two write transactions instead.
pub async fn place_order(state: &AppState, new: NewOrder) -> Result<Placed, OrderError> {
    place_order_at(state, new, state.now().naive_utc()).await
}

/// `place_order` at a given moment: a sandbox show's buyers order on its virtual clock.
pub async fn place_order_at(
    state: &AppState,
    new: NewOrder,
    now: chrono::NaiveDateTime,
) -> Result<Placed, OrderError> {
    let links = state.links.clone();
    let request = new.clone();
    let finished = if payments::gateway_for(new.method).in_process() {
        state
            .writer
            .write_deferring_lazy(new.skus(), OrderError::is_refusal, move |conn| {
                place_in(conn, &request, &links, now)
            })
            .await?
    } else {
        let reserved = state
            .write(move |conn| place::reserve(conn, &request, &links, now))
            .await?;
        match reserved {
            place::Reserved::Replay(order) => {
                state
                    .write(move |conn| finish(conn, order, true, None))
                    .await?
            }
            place::Reserved::Fresh(order, _) => {
                let outcome = place::pay(&order, new.method, new.card.as_ref());
                let order_id = order.id;
                let declined = outcome.result.err();
                let (order, lines, parts) = state
                    .write(move |conn| place::settle(conn, order_id, &outcome, now))
                    .await?;
                (order, lines, parts, declined, false)
            }
        }
    };
    Ok(placed(state, finished))
}

/// Places the order that `resolve` makes, or returns its refusal. `resolve` runs first in
/// the placement's own write job: what it reads (the shop, its mode and fee, the running
/// show) is read in the same transaction as the order is written, on the writer's warm
/// connection, and a refusal writes nothing. `skus` are the SKUs of the order's lines
/// (see [`NewOrder::skus`]). The JSON API and the checkout place orders this way.
pub async fn place_resolved<R, F>(
    state: &AppState,
    now: chrono::NaiveDateTime,
    skus: Vec<i64>,
    resolve: F,
) -> Result<Result<Placed, R>, OrderError>
where
    F: FnOnce(&mut crate::db::DbConn) -> Result<Result<NewOrder, R>, OrderError> + Send + 'static,
    R: Send + 'static,
{
    enum Step<R> {
        Done(Box<Finished>),
        Refused(R),
        /// A remote gateway is called between two transactions, not inside this one.
        Remote(Box<NewOrder>),
    }
    let links = state.links.clone();
    let step = state
        .writer
        .write_deferring_lazy(skus, OrderError::is_refusal, move |conn| {
            let new = match resolve(conn)? {
                Ok(new) => new,
                Err(refusal) => return Ok(Step::Refused(refusal)),
            };
            if !payments::gateway_for(new.method).in_process() {
                return Ok(Step::Remote(Box::new(new)));
            }
            place_in(conn, &new, &links, now).map(|f| Step::Done(Box::new(f)))
        })
        .await?;
    match step {
        Step::Done(finished) => Ok(Ok(placed(state, *finished))),
        Step::Refused(refusal) => Ok(Err(refusal)),
        Step::Remote(new) => place_order_at(state, *new, now).await.map(Ok),
    }
}

/// Reserve, pay with an in-process gateway, settle: one write job.
fn place_in(
    conn: &mut crate::db::DbConn,
    request: &NewOrder,
    links: &links::LinkKey,
    now: chrono::NaiveDateTime,
) -> Result<Finished, OrderError> {
    match place::place_in_process(conn, request, links, now)? {
        place::InProcess::Replay(order) => finish(conn, order, true, None),
        place::InProcess::Pending(pending) => {
            let ((order, lines, parts), declined) = *pending;
            Ok((order, lines, parts, declined, true))
        }
        place::InProcess::Placed((order, lines, parts), declined) => {
            Ok((order, lines, parts, declined, false))
        }
    }
}

/// The placement's answer, once it is committed: counts it, wakes the outbox for a paid
/// order and makes the buyer's link.
fn placed(state: &AppState, finished: Finished) -> Placed {
    let (order, lines, parts, declined, replayed) = finished;
    if !replayed {
        state.metrics.order_placed(order.mode.as_str());
    }
    if !replayed && declined.is_none() {
        state.outbox_wake.notify_one();
    }
    let token = state.links.token(&order.reference);
    Placed {
        order,
        lines,
        parts,
        replayed,
        token,
        declined,
    }
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
