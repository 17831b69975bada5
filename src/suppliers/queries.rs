//! Reads behind the supplier's order and return pages and the supplier API. Every query
//! is scoped to one supplier: another supplier's record is simply not found.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{after_sales, order_lines, orders, supplier_orders};
use crate::orders::model::{self, Case, Event, Line, Order, SupplierOrder};
use crate::orders::{CaseStatus, Mode, SupplierStatus};

/// Rows on one page of the order and return lists.
pub const PER_PAGE: i64 = 20;

/// `new` is a supplier order the outbox has delivered and nobody has acted on yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    New,
    Is(SupplierStatus),
}

impl StatusFilter {
    pub fn parse(raw: &str) -> Option<StatusFilter> {
        match raw {
            "new" => Some(StatusFilter::New),
            other => SupplierStatus::parse(other).map(StatusFilter::Is),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::New => "new",
            StatusFilter::Is(s) => s.as_str(),
        }
    }

    pub fn all() -> Vec<StatusFilter> {
        std::iter::once(StatusFilter::New)
            .chain(SupplierStatus::ALL.iter().copied().map(StatusFilter::Is))
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<StatusFilter>,
    pub mode: Option<Mode>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Upper-case letters and digits only (checked by the caller), matched as a prefix.
    pub reference: Option<String>,
}

/// One supplier order with what the list shows of its order.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub so: SupplierOrder,
    pub reference: String,
    pub buyer_name: String,
}

/// A supplier order as its supplier sees it: its lines only, the ship-to address and
/// the events about this part (not the creator's other suppliers).
#[derive(Debug, Clone)]
pub struct OrderDetail {
    pub so: SupplierOrder,
    pub order: Order,
    pub lines: Vec<Line>,
    pub events: Vec<Event>,
    pub cases: Vec<Case>,
}

fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

macro_rules! filtered_orders {
    ($supplier_id:expr, $filter:expr) => {{
        let f: &OrderFilter = $filter;
        let mut q = supplier_orders::table
            .inner_join(orders::table)
            .filter(supplier_orders::supplier_id.eq($supplier_id))
            .into_boxed();
        match f.status {
            Some(StatusFilter::New) => {
                q = q
                    .filter(supplier_orders::status.eq(SupplierStatus::Routed.as_str()))
                    .filter(supplier_orders::notified_at.is_not_null());
            }
            Some(StatusFilter::Is(s)) => q = q.filter(supplier_orders::status.eq(s.as_str())),
            None => {}
        }
        if let Some(mode) = f.mode {
            q = q.filter(supplier_orders::mode.eq(mode.as_str()));
        }
        if let Some(from) = f.from {
            q = q.filter(supplier_orders::created_at.ge(day_start(from)));
        }
        if let Some(to) = f.to.and_then(|d| d.succ_opt()) {
            q = q.filter(supplier_orders::created_at.lt(day_start(to)));
        }
        if let Some(r) = &f.reference {
            q = q.filter(orders::reference.like(format!("{r}%")));
        }
        q
    }};
}

/// One page (from 1) of the supplier's orders, newest first, and how many there are.
pub fn list_orders(
    conn: &mut DbConn,
    supplier_id: i64,
    filter: &OrderFilter,
    page: i64,
    per_page: i64,
) -> QueryResult<(Vec<OrderRow>, i64)> {
    let total: i64 = filtered_orders!(supplier_id, filter)
        .count()
        .get_result(conn)?;
    let rows: Vec<(SupplierOrder, String, String)> = filtered_orders!(supplier_id, filter)
        .order(supplier_orders::id.desc())
        .limit(per_page)
        .offset((page.max(1) - 1) * per_page)
        .select((
            SupplierOrder::as_select(),
            orders::reference,
            orders::buyer_name,
        ))
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(|(so, reference, buyer_name)| OrderRow {
                so,
                reference,
                buyer_name,
            })
            .collect(),
        total,
    ))
}

/// The supplier order `so_id` if it is this supplier's.
pub fn order_detail(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
) -> QueryResult<Option<OrderDetail>> {
    let Some(so) = model::find_supplier_order(conn, so_id)? else {
        return Ok(None);
    };
    if so.supplier_id != supplier_id {
        return Ok(None);
    }
    let Some(order) = model::find_order(conn, so.order_id)? else {
        return Ok(None);
    };
    let lines = model::lines(conn, order.id)?
        .into_iter()
        .filter(|l| l.supplier_order_id == Some(so.id))
        .collect();
    let cases: Vec<Case> = model::cases_of(conn, order.id)?
        .into_iter()
        .filter(|c| c.supplier_order_id == so.id)
        .collect();
    let case_ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    let events = model::events_of(conn, order.id)?
        .into_iter()
        .filter(|e| {
            e.supplier_order_id == Some(so.id) || e.case_id.is_some_and(|c| case_ids.contains(&c))
        })
        .collect();
    Ok(Some(OrderDetail {
        so,
        order,
        lines,
        events,
        cases,
    }))
}

/// An after-sales case with the line and order it is about.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub case: Case,
    pub reference: String,
    pub title: String,
    pub variant: String,
}

macro_rules! filtered_cases {
    ($supplier_id:expr, $status:expr) => {{
        let mut q = after_sales::table
            .inner_join(order_lines::table.inner_join(orders::table))
            .filter(after_sales::supplier_id.eq($supplier_id))
            .into_boxed();
        if let Some(s) = $status {
            q = q.filter(after_sales::status.eq(CaseStatus::as_str(s)));
        }
        q
    }};
}

/// One page of the supplier's after-sales cases, newest first, and how many there are.
pub fn list_cases(
    conn: &mut DbConn,
    supplier_id: i64,
    status: Option<CaseStatus>,
    page: i64,
    per_page: i64,
) -> QueryResult<(Vec<CaseRow>, i64)> {
    let total: i64 = filtered_cases!(supplier_id, status)
        .count()
        .get_result(conn)?;
    let rows: Vec<(Case, String, String, String)> = filtered_cases!(supplier_id, status)
        .order(after_sales::id.desc())
        .limit(per_page)
        .offset((page.max(1) - 1) * per_page)
        .select((
            Case::as_select(),
            orders::reference,
            order_lines::title,
            order_lines::sku_label,
        ))
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(|(case, reference, title, variant)| CaseRow {
                case,
                reference,
                title,
                variant,
            })
            .collect(),
        total,
    ))
}

/// The case `case_id` if it is this supplier's.
pub fn case_row(conn: &mut DbConn, supplier_id: i64, case_id: i64) -> QueryResult<Option<CaseRow>> {
    let row: Option<(Case, String, String, String)> = after_sales::table
        .inner_join(order_lines::table.inner_join(orders::table))
        .filter(after_sales::id.eq(case_id))
        .filter(after_sales::supplier_id.eq(supplier_id))
        .select((
            Case::as_select(),
            orders::reference,
            order_lines::title,
            order_lines::sku_label,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(case, reference, title, variant)| CaseRow {
        case,
        reference,
        title,
        variant,
    }))
}
