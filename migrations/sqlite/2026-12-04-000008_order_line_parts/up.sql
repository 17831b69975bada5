-- The outbox counts each delivered supplier order's lines, found by their supplier
-- order; without an index that read scanned every line ever ordered.
CREATE INDEX order_lines_supplier_order ON order_lines (supplier_order_id);
