//! The diesel table definitions shared by both backends (portable column types only).

diesel::table! {
    businesses (id) {
        id -> Text,
        name -> Text,
        timezone -> Text,
        created_at -> Timestamp,
        country -> Nullable<Text>,
        slug -> Nullable<Text>,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        business_id -> Text,
        name -> Text,
        address -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        timezone -> Text,
        paused_at -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        paused_until -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    location_closures (id) {
        id -> Text,
        business_id -> Text,
        location_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    resources (id) {
        id -> Text,
        business_id -> Text,
        location_id -> Text,
        name -> Text,
        kind -> Text,
        capacity -> Integer,
        paused_at -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        paused_until -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    resource_hours (id) {
        id -> Text,
        business_id -> Text,
        resource_id -> Text,
        weekday -> Integer,
        start_minute -> Integer,
        end_minute -> Integer,
    }
}

diesel::table! {
    resource_time_off (id) {
        id -> Text,
        business_id -> Text,
        resource_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    services (id) {
        id -> Text,
        business_id -> Text,
        location_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        duration_minutes -> Integer,
        buffer_before_minutes -> Integer,
        buffer_after_minutes -> Integer,
        slot_step_minutes -> Integer,
        capacity -> Integer,
        price_cents -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        min_notice_minutes -> Integer,
        max_advance_minutes -> Integer,
        cancel_cutoff_minutes -> Integer,
        reschedule_cutoff_minutes -> Integer,
        channels -> Text,
        paused_at -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        paused_until -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reminders -> Text,
    }
}

diesel::table! {
    service_requirements (service_id, group_no, resource_id) {
        service_id -> Text,
        group_no -> Integer,
        resource_id -> Text,
        business_id -> Text,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        business_id -> Text,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        preferred_language -> Nullable<Text>,
        preferred_channel -> Nullable<Text>,
        marketing_consent -> Bool,
        marketing_consent_at -> Nullable<Timestamp>,
        tags -> Text,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        business_id -> Text,
        service_id -> Text,
        location_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        resource_ids -> Text,
        expires_at -> Timestamp,
        status -> Text,
        channel -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        client_address -> Nullable<Text>,
        booking_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    bookings (id) {
        id -> Text,
        business_id -> Text,
        service_id -> Text,
        location_id -> Text,
        customer_id -> Text,
        reference -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        resource_ids -> Text,
        status -> Text,
        channel -> Text,
        created_by -> Text,
        notes -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        client_id -> Nullable<Text>,
        expected_start -> Nullable<Timestamp>,
    }
}

diesel::table! {
    allocations (id) {
        id -> Text,
        business_id -> Text,
        resource_id -> Text,
        service_id -> Text,
        booking_id -> Nullable<Text>,
        hold_id -> Nullable<Text>,
        session_start -> Timestamp,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        seat -> Bool,
        exclusive -> Bool,
        active -> Bool,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        business_id -> Text,
        event_type -> Text,
        subject_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    booking_history (id) {
        id -> Text,
        business_id -> Text,
        booking_id -> Text,
        action -> Text,
        actor -> Text,
        actor_role -> Text,
        channel -> Text,
        details -> Text,
        override_rules -> Nullable<Text>,
        override_reason -> Nullable<Text>,
        created_at -> Timestamp,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_records (business_id, principal, idempotency_key) {
        business_id -> Text,
        principal -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status_code -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        response_headers -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    business_contact_costs (business_id, channel) {
        business_id -> Text,
        channel -> Text,
        cents_per_minute -> Integer,
    }
}

diesel::table! {
    customer_notes (id) {
        id -> Text,
        business_id -> Text,
        customer_id -> Text,
        author -> Text,
        author_role -> Text,
        body -> Text,
        pinned -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    intents (id) {
        id -> Text,
        business_id -> Text,
        code -> Text,
        name -> Text,
        owner -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    interactions (id) {
        id -> Text,
        business_id -> Text,
        channel -> Text,
        intent_id -> Text,
        intent_code -> Text,
        outcome -> Text,
        duration_seconds -> Integer,
        customer_id -> Nullable<Text>,
        booking_id -> Nullable<Text>,
        location_id -> Nullable<Text>,
        agent -> Text,
        agent_role -> Text,
        note -> Nullable<Text>,
        occurred_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feedback_requests (id) {
        id -> Text,
        business_id -> Text,
        booking_id -> Text,
        customer_id -> Text,
        token -> Text,
        created_at -> Timestamp,
        responded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    feedback (id) {
        id -> Text,
        business_id -> Text,
        request_id -> Text,
        booking_id -> Text,
        customer_id -> Text,
        nps -> Integer,
        effort -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> Text,
        business_id -> Text,
        actor -> Text,
        actor_role -> Text,
        action -> Text,
        subject_id -> Text,
        details -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        business_id -> Text,
        url -> Text,
        event_types -> Text,
        location_id -> Nullable<Text>,
        description -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        business_id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        event_type -> Text,
        body -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        business_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Integer,
        response_snippet -> Nullable<Text>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        business_id -> Text,
        customer_id -> Text,
        booking_id -> Nullable<Text>,
        kind -> Text,
        rule_minutes -> Nullable<Integer>,
        booking_version -> Nullable<Integer>,
        dedupe_key -> Text,
        detail -> Nullable<Text>,
        state -> Text,
        reason -> Nullable<Text>,
        channel -> Nullable<Text>,
        recipient -> Nullable<Text>,
        due_at -> Timestamp,
        attempts -> Integer,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    queue_tickets (id) {
        id -> Text,
        business_id -> Text,
        location_id -> Text,
        service_id -> Text,
        code -> Text,
        local_day -> Text,
        customer_id -> Nullable<Text>,
        customer_name -> Text,
        party_size -> Integer,
        resource_id -> Nullable<Text>,
        status -> Text,
        booking_id -> Nullable<Text>,
        estimated_earliest -> Nullable<Timestamp>,
        estimated_latest -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        called_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    broadcasts (id) {
        id -> Text,
        business_id -> Text,
        kind -> Text,
        location_id -> Text,
        resource_id -> Nullable<Text>,
        service_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        minutes -> Nullable<Integer>,
        message -> Text,
        bookings_affected -> Integer,
        tickets_affected -> Integer,
        notifications_planned -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(locations -> businesses (business_id));
diesel::joinable!(location_closures -> locations (location_id));
diesel::joinable!(resources -> locations (location_id));
diesel::joinable!(resource_hours -> resources (resource_id));
diesel::joinable!(resource_time_off -> resources (resource_id));
diesel::joinable!(services -> locations (location_id));
diesel::joinable!(service_requirements -> services (service_id));
diesel::joinable!(service_requirements -> resources (resource_id));
diesel::joinable!(bookings -> customers (customer_id));
diesel::table! {
    partner_clients (id) {
        id -> Text,
        business_id -> Text,
        name -> Text,
        scopes -> Text,
        secret_hash -> Text,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        disabled -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(bookings -> services (service_id));
diesel::joinable!(allocations -> bookings (booking_id));
diesel::joinable!(allocations -> holds (hold_id));
diesel::joinable!(allocations -> resources (resource_id));
diesel::joinable!(booking_history -> bookings (booking_id));
diesel::joinable!(customer_notes -> customers (customer_id));
diesel::joinable!(interactions -> intents (intent_id));
diesel::joinable!(feedback_requests -> bookings (booking_id));
diesel::joinable!(feedback -> feedback_requests (request_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    businesses,
    locations,
    location_closures,
    resources,
    resource_hours,
    resource_time_off,
    services,
    service_requirements,
    customers,
    holds,
    bookings,
    allocations,
    events,
    booking_history,
    idempotency_records,
    business_contact_costs,
    customer_notes,
    intents,
    interactions,
    feedback_requests,
    feedback,
    audit_entries,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    notifications,
    partner_clients,
    queue_tickets,
    broadcasts,
);
