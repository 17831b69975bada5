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
diesel::allow_tables_to_appear_in_same_query!(users, creator_profiles, sessions, app_secrets);
