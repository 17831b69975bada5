// One schema for both backends: only types that SQLite and PostgreSQL share.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        display_name -> Text,
        locale -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    creator_profiles (user_id) {
        user_id -> BigInt,
        niche_categories -> Text,
        audience_age_band -> Nullable<Text>,
        audience_female_percent -> Nullable<Integer>,
        top_regions -> Text,
        price_min_fen -> Nullable<BigInt>,
        price_max_fen -> Nullable<BigInt>,
        follower_count -> Nullable<BigInt>,
        platform -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::joinable!(creator_profiles -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    lesson_completions (user_id, course_slug, module_slug, lesson_slug) {
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        lesson_slug -> Text,
        completed_at -> Timestamp,
    }
}

diesel::table! {
    quiz_attempts (id) {
        id -> BigInt,
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        attempt_number -> Integer,
        quiz_version -> Text,
        score_milli -> BigInt,
        max_milli -> BigInt,
        passed -> Bool,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    quiz_answers (attempt_id, question_id) {
        attempt_id -> BigInt,
        question_id -> Text,
        answer -> Text,
        score_milli -> BigInt,
        max_milli -> BigInt,
    }
}

diesel::joinable!(quiz_answers -> quiz_attempts (attempt_id));

diesel::table! {
    cohorts (id) {
        id -> BigInt,
        name -> Text,
        invite_code -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cohort_members (user_id) {
        user_id -> BigInt,
        cohort_id -> BigInt,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    enrolments (user_id, course_slug) {
        user_id -> BigInt,
        course_slug -> Text,
        enrolled_at -> Timestamp,
        last_activity_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        modules_done -> Integer,
    }
}

diesel::table! {
    module_completions (user_id, course_slug, module_slug) {
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        completed_at -> Timestamp,
    }
}

diesel::table! {
    lesson_visits (id) {
        id -> BigInt,
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        lesson_slug -> Text,
        visited_at -> Timestamp,
    }
}

diesel::table! {
    review_cards (user_id, course_slug, module_slug, question_id) {
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        question_id -> Text,
        due_at -> Timestamp,
        stability -> Double,
        difficulty -> Double,
        elapsed_days -> BigInt,
        scheduled_days -> BigInt,
        reps -> Integer,
        lapses -> Integer,
        state -> Integer,
        last_review_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    review_answers (id) {
        id -> BigInt,
        user_id -> BigInt,
        course_slug -> Text,
        module_slug -> Text,
        question_id -> Text,
        answer -> Text,
        score_milli -> BigInt,
        max_milli -> BigInt,
        rating -> Integer,
        reviewed_at -> Timestamp,
        next_due_at -> Timestamp,
    }
}

diesel::joinable!(cohort_members -> cohorts (cohort_id));
diesel::joinable!(cohort_members -> users (user_id));
diesel::joinable!(enrolments -> users (user_id));

diesel::table! {
    suppliers (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        user_id -> Nullable<BigInt>,
        region -> Text,
        rating_centi -> Integer,
        handling_hours -> Integer,
        reliability_bp -> Integer,
        return_days -> Integer,
        return_policy -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> BigInt,
        supplier_id -> BigInt,
        product_ref -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        tags -> Text,
        image_url -> Nullable<Text>,
        cost_fen -> BigInt,
        suggested_fen -> BigInt,
        min_price_fen -> BigInt,
        commission_bp -> Integer,
        currency -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    skus (id) {
        id -> BigInt,
        product_id -> BigInt,
        supplier_id -> BigInt,
        sku_code -> Text,
        size -> Nullable<Text>,
        colour -> Nullable<Text>,
        stock -> Integer,
        weight_g -> Integer,
    }
}

diesel::table! {
    product_stats (product_id, segment) {
        product_id -> BigInt,
        segment -> Text,
        views -> BigInt,
        orders -> BigInt,
        returns -> BigInt,
        delivered -> BigInt,
    }
}

diesel::table! {
    catalog_state (id) {
        id -> Integer,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    showcase_items (user_id, product_id) {
        user_id -> BigInt,
        product_id -> BigInt,
        price_fen -> BigInt,
        added_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(products -> suppliers (supplier_id));
diesel::joinable!(skus -> products (product_id));
diesel::joinable!(product_stats -> products (product_id));
diesel::joinable!(showcase_items -> products (product_id));
diesel::joinable!(showcase_items -> users (user_id));
diesel::table! {
    shops (user_id) {
        user_id -> BigInt,
        handle -> Text,
        mode -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    flash_deals (id) {
        id -> BigInt,
        shop_user_id -> BigInt,
        sku_id -> BigInt,
        mode -> Text,
        price_fen -> BigInt,
        quantity -> Integer,
        sold -> Integer,
        per_buyer_limit -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deal_purchases (deal_id, buyer_key) {
        deal_id -> BigInt,
        buyer_key -> Text,
        quantity -> Integer,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        reference -> Text,
        access_hash -> Text,
        shop_user_id -> BigInt,
        mode -> Text,
        status -> Text,
        buyer_name -> Text,
        buyer_phone -> Text,
        buyer_address -> Text,
        buyer_key -> Text,
        buyer_segment -> Nullable<Text>,
        payment_method -> Text,
        card_last4 -> Nullable<Text>,
        currency -> Text,
        total_fen -> BigInt,
        paid_fen -> BigInt,
        refunded_fen -> BigInt,
        commission_fen -> BigInt,
        earnings_fen -> BigInt,
        fee_bp -> Integer,
        show_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    supplier_orders (id) {
        id -> BigInt,
        order_id -> BigInt,
        supplier_id -> BigInt,
        mode -> Text,
        status -> Text,
        total_fen -> BigInt,
        carrier -> Nullable<Text>,
        tracking -> Nullable<Text>,
        reject_reason -> Nullable<Text>,
        notified_at -> Nullable<Timestamp>,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        supplier_order_id -> Nullable<BigInt>,
        product_id -> BigInt,
        sku_id -> BigInt,
        supplier_id -> BigInt,
        deal_id -> Nullable<BigInt>,
        title -> Text,
        sku_label -> Text,
        quantity -> Integer,
        unit_price_fen -> BigInt,
        unit_cost_fen -> BigInt,
        commission_bp -> Integer,
        refunded_fen -> BigInt,
        returned_quantity -> Integer,
    }
}

diesel::table! {
    payments (id) {
        id -> BigInt,
        order_id -> BigInt,
        mode -> Text,
        gateway -> Text,
        kind -> Text,
        amount_fen -> BigInt,
        succeeded -> Bool,
        reference -> Nullable<Text>,
        error_code -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    after_sales (id) {
        id -> BigInt,
        order_id -> BigInt,
        line_id -> BigInt,
        supplier_order_id -> BigInt,
        supplier_id -> BigInt,
        shop_user_id -> BigInt,
        mode -> Text,
        status -> Text,
        quantity -> Integer,
        reason -> Text,
        reject_reason -> Nullable<Text>,
        return_carrier -> Nullable<Text>,
        return_tracking -> Nullable<Text>,
        refund_fen -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_notes (id) {
        id -> BigInt,
        case_id -> BigInt,
        author_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    order_events (id) {
        id -> BigInt,
        order_id -> BigInt,
        supplier_order_id -> Nullable<BigInt>,
        case_id -> Nullable<BigInt>,
        mode -> Text,
        entity -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        reason -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        topic -> Text,
        supplier_order_id -> BigInt,
        payload -> Text,
        attempts -> Integer,
        available_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    supplier_inbox (message_id) {
        message_id -> BigInt,
        supplier_id -> BigInt,
        supplier_order_id -> BigInt,
        received_at -> Timestamp,
    }
}

diesel::table! {
    supplier_api_keys (id) {
        id -> BigInt,
        supplier_id -> BigInt,
        prefix -> Text,
        secret_hash -> Text,
        label -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (shop_user_id, key) {
        shop_user_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        order_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    shows (id) {
        id -> BigInt,
        user_id -> BigInt,
        mode -> Text,
        status -> Text,
        seed -> BigInt,
        minutes -> Integer,
        speed -> Integer,
        setup -> Text,
        started_at -> Timestamp,
        sim_ms -> BigInt,
        done_ms -> BigInt,
        actions -> Integer,
        clock_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        pinned_product_id -> Nullable<BigInt>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        orders_placed -> Integer,
        orders_refused -> Integer,
        summary -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    show_actions (show_id, seq) {
        show_id -> BigInt,
        seq -> Integer,
        at_ms -> BigInt,
        kind -> Text,
        payload -> Text,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    show_comments (show_id, comment_id) {
        show_id -> BigInt,
        comment_id -> BigInt,
        at_ms -> BigInt,
        viewer -> Integer,
        topic -> Text,
        variant -> Integer,
        product_id -> Nullable<BigInt>,
        answered_ms -> Nullable<BigInt>,
        answer -> Nullable<Text>,
        overclaim -> Bool,
    }
}

diesel::table! {
    show_minutes (show_id, minute) {
        show_id -> BigInt,
        minute -> Integer,
        ticks -> Integer,
        viewer_seconds -> BigInt,
        peak -> Integer,
        arrivals -> Integer,
        comments -> Integer,
        orders -> Integer,
    }
}

diesel::table! {
    certificates (code) {
        code -> Text,
        user_id -> BigInt,
        course_slug -> Text,
        course_title -> Text,
        holder_name -> Text,
        show_id -> Nullable<BigInt>,
        issued_at -> Timestamp,
    }
}

diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(supplier_orders -> orders (order_id));
diesel::joinable!(supplier_orders -> suppliers (supplier_id));
diesel::joinable!(after_sales -> order_lines (line_id));
diesel::joinable!(after_sales -> orders (order_id));
diesel::joinable!(flash_deals -> skus (sku_id));
diesel::joinable!(shops -> users (user_id));
diesel::joinable!(show_actions -> shows (show_id));
diesel::joinable!(show_comments -> shows (show_id));
diesel::joinable!(show_minutes -> shows (show_id));
diesel::joinable!(shows -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    creator_profiles,
    sessions,
    app_secrets,
    cohorts,
    cohort_members,
    enrolments,
    module_completions,
    lesson_visits,
    lesson_completions,
    quiz_attempts,
    quiz_answers,
    review_cards,
    review_answers,
    suppliers,
    products,
    skus,
    product_stats,
    catalog_state,
    showcase_items,
    shops,
    flash_deals,
    deal_purchases,
    orders,
    supplier_orders,
    order_lines,
    payments,
    after_sales,
    case_notes,
    order_events,
    outbox,
    supplier_inbox,
    supplier_api_keys,
    idempotency_keys,
    shows,
    show_actions,
    show_comments,
    show_minutes,
    certificates,
);
