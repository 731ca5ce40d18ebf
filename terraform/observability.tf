# What the log-based metrics match, what the SLOs count and what the dashboard and the
# runbooks are given: locals only, no resource, so tests/terraform evaluates exactly these
# strings with `terraform console`, offline, and tests/integration/test_log_metrics.py runs
# the filters over the lines the functions really write (docs/operations.md#log-based-metrics).
locals {
  # Cloud Functions gen2 run as Cloud Run services of the same name; their log entries
  # carry the cloud_run_revision resource. The python_logger label is what
  # google-cloud-logging's StructuredLogHandler writes into logging.googleapis.com/labels.
  ingest_lines = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.ingest_function_name}\"",
    "labels.python_logger=\"customer_order_events.ingest\"",
  ])
  processor_lines = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.processor_function_name}\"",
    "labels.python_logger=\"customer_order_events.processor\"",
  ])
  pos_lines = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.pos_function_name}\"",
    "labels.python_logger=\"customer_order_events.pos\"",
  ])
  # The request log Cloud Run writes itself, one entry per request, also for requests that
  # never reached the code (a crash, a timeout, IAM refusing the caller).
  ingest_put_requests = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.ingest_function_name}\"",
    "log_id(\"run.googleapis.com/requests\")",
    "httpRequest.requestMethod=\"PUT\"",
  ])
  # Reads: GET or HEAD of one order, and the search (a POST to ...:search), on either
  # function. Store updates: a POST to ...:ready or ...:pickup on pos. A custom method follows a literal colon
  # (a colon inside an id arrives as %3A, shared/domain/addresses.py), and requestUrl is the
  # whole URL, query string included.
  read_requests = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "(resource.labels.service_name=\"${local.ingest_function_name}\" OR resource.labels.service_name=\"${local.pos_function_name}\")",
    "log_id(\"run.googleapis.com/requests\")",
    "(httpRequest.requestMethod=\"GET\" OR httpRequest.requestMethod=\"HEAD\" OR (httpRequest.requestMethod=\"POST\" AND httpRequest.requestUrl=~\":search($|[?])\"))",
  ])
  pickup_requests = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.pos_function_name}\"",
    "log_id(\"run.googleapis.com/requests\")",
    "httpRequest.requestMethod=\"POST\"",
    "httpRequest.requestUrl=~\":(ready|pickup)($|[?])\"",
  ])
  # An answer that did not do what was asked, so the caller must try again: any 5xx, a
  # deliberate 503 included (nothing was published or read), and the 429 Cloud Run sends
  # when no instance is free (the code never answers 429). The SLOs count these bad.
  failed_answer = "(httpRequest.status>=500 OR httpRequest.status=429)"

  # The business unit as a label only for the units listed: REGEXP_EXTRACT yields the empty
  # string for every other unit (a failed extraction gives a string label its default), so
  # the label has at most length(list) + 1 values. The variable's validation keeps the
  # values free of regular-expression syntax.
  business_unit_label = length(var.business_unit_label_values) == 0 ? {} : {
    business_unit = {
      extractor   = "REGEXP_EXTRACT(jsonPayload.businessUnitId, \"^(${join("|", var.business_unit_label_values)})$\")"
      description = "businessUnitId when it is one of var.business_unit_label_values, else empty"
    }
  }

  # Counters (DELTA INT64, one per matching entry), by key of google_logging_metric.counter.
  counter_metrics = {
    put_outcomes = {
      name        = "${var.function_name_prefix}-put-outcomes"
      description = "PUTs the ingest function answered, by outcome: accepted (202), refused (4xx, by problem type), unavailable (a deliberate 503), failed (500)."
      filter      = "${local.ingest_lines} AND jsonPayload.event=\"put\""
      labels = merge({
        outcome = {
          extractor   = "EXTRACT(jsonPayload.outcome)"
          description = "accepted, refused, unavailable or failed"
        }
        problem_type = {
          extractor   = "EXTRACT(jsonPayload.problemType)"
          description = "the problem slug of a refusal or a 503 (validation-failed, publish-unavailable, ...); empty when accepted"
        }
      }, local.business_unit_label)
    }
    processor_decisions = {
      name        = "${var.function_name_prefix}-processor-decisions"
      description = "Deliveries the processor decided, of OMS versions and store updates, by decision: stored, duplicate, stale, conflict (an OMS version refused for cancelling what was handed out), superseded (a store update decided on an order state that is gone), not-recorded (a store update the order does not allow, as the POS was told), all acknowledged; refused, undecodable (never storable, dead-lettered); unavailable (Firestore down, redelivered)."
      filter      = "${local.processor_lines} AND jsonPayload.event=\"process\""
      labels = merge({
        decision = {
          extractor   = "EXTRACT(jsonPayload.decision)"
          description = "stored, duplicate, stale, conflict, superseded, not-recorded, refused, undecodable or unavailable"
        }
        rule = {
          extractor   = "EXTRACT(jsonPayload.rule)"
          description = "what decided the delivery: first, sourceVersion, receivedAt, pickup (what was handed out) or store (a store update's fit); empty when it was never decided"
        }
        change = {
          extractor   = "EXTRACT(jsonPayload.change)"
          description = "what the message does: update, cancellation or unpicking (an OMS version), ready or pickup (a store update); empty when it could not be decoded"
        }
      }, local.business_unit_label)
    }
    events_published = {
      name        = "${var.function_name_prefix}-events-published"
      description = "Order events the processor published to the events topic, by type; a repeat after a redelivery counts again. Deliveries to each webhook are Pub/Sub's own subscription/push_request_count."
      filter      = "${local.processor_lines} AND jsonPayload.event=\"publish\""
      labels = merge({
        event_type = {
          extractor   = "EXTRACT(jsonPayload.eventType)"
          description = "customer-order.created, .updated, .ready-for-pickup, .picked-up or .cancellation-refused"
        }
      }, local.business_unit_label)
    }
    # Named for what it counted first: the release before's pickups continue as event=pickup.
    pickups = {
      name        = "${var.function_name_prefix}-pickups"
      description = "Store updates the pos function answered (:ready and :pickup), by event and outcome: recorded, repeated (200), refused (4xx, by problem type), unavailable (a deliberate 503), failed (500)."
      filter      = "${local.pos_lines} AND (jsonPayload.event=\"ready\" OR jsonPayload.event=\"pickup\")"
      labels = merge({
        event = {
          extractor   = "EXTRACT(jsonPayload.event)"
          description = "ready (items readied for pickup) or pickup (items handed out)"
        }
        outcome = {
          extractor   = "EXTRACT(jsonPayload.outcome)"
          description = "recorded, repeated, refused, unavailable or failed"
        }
        problem_type = {
          extractor   = "EXTRACT(jsonPayload.problemType)"
          description = "the problem slug of a refusal or a 503 (already-picked-up, order-cancelled, not-found, ...); empty when recorded or repeated"
        }
      }, local.business_unit_label)
    }
    # A leaked credential probing other stores shows as one identity refused again and
    # again (terraform/pos_access.tf alerts on it). Only identities Cloud Run let in reach
    # the code, so the label's values are bounded by pos_invoker_members; a 401's is
    # "unverified".
    pos_refusals = {
      name        = "${var.function_name_prefix}-pos-refusals"
      description = "Calls the pos function refused for their caller: 401 (no verifiable ID token) and 403 (a business unit the identity does not hold), by identity."
      filter      = "${local.pos_lines} AND jsonPayload.outcome=\"refused\" AND (jsonPayload.httpStatus=401 OR jsonPayload.httpStatus=403)"
      labels = {
        identity = {
          extractor   = "EXTRACT(jsonPayload.identity)"
          description = "the verified email of the caller refused 403; unverified for a 401"
        }
        status = {
          extractor   = "EXTRACT(jsonPayload.httpStatus)"
          description = "401 or 403"
        }
      }
    }
    conflicts = {
      name        = "${var.function_name_prefix}-conflicts"
      description = "OMS versions the processor refused because they would cancel, remove or order less of what a store handed out (acknowledged; a cancellation-refused event tells the OMS)."
      filter      = "${local.processor_lines} AND jsonPayload.event=\"process\" AND jsonPayload.decision=\"conflict\""
      labels      = local.business_unit_label
    }
    # The request-based SLOs' total and bad events (local.request_slos). Cloud Run's
    # request log, not our lines, so that an answer that never reached the code (a crash,
    # a timeout, no instance free) counts too.
    put_answers = {
      name        = "${var.function_name_prefix}-put-answers"
      description = "Every PUT Cloud Run answered for the ingest function (its request log), by HTTP status."
      filter      = local.ingest_put_requests
      labels      = local.status_label
    }
    put_answers_failed = {
      name        = "${var.function_name_prefix}-put-answers-failed"
      description = "PUTs answered 429 or 5xx, a deliberate 503 included: the OMS could not deliver the order. The availability SLO's bad events."
      filter      = "${local.ingest_put_requests} AND ${local.failed_answer}"
      labels      = {}
    }
    read_answers = {
      name        = "${var.function_name_prefix}-read-answers"
      description = "Every GET, HEAD and search Cloud Run answered for the ingest and pos functions (their request logs), by HTTP status."
      filter      = local.read_requests
      labels      = local.status_label
    }
    read_answers_failed = {
      name        = "${var.function_name_prefix}-read-answers-failed"
      description = "GETs, HEADs and searches answered 429 or 5xx (Firestore unavailable, a crash, no instance free): the reads SLO's bad events."
      filter      = "${local.read_requests} AND ${local.failed_answer}"
      labels      = {}
    }
    pickup_answers = {
      name        = "${var.function_name_prefix}-pickup-answers"
      description = "Every store update (:ready, :pickup) Cloud Run answered for the pos function (its request log), by HTTP status."
      filter      = local.pickup_requests
      labels      = local.status_label
    }
    pickup_answers_failed = {
      name        = "${var.function_name_prefix}-pickup-answers-failed"
      description = "Store updates (:ready, :pickup) answered 429 or 5xx (the update could not be published or stored, a crash, no instance free): the pickups SLO's bad events."
      filter      = "${local.pickup_requests} AND ${local.failed_answer}"
      labels      = {}
    }
  }
  status_label = {
    status = {
      extractor   = "EXTRACT(httpRequest.status)"
      description = "the HTTP status Cloud Run sent"
    }
  }

  # The end-to-end lag: lagSeconds is what the processor measured, when it stored the
  # order, from the receivedAt ingest stamped before its 202.
  lag_metric = {
    name        = "${var.function_name_prefix}-end-to-end-lag"
    description = "Seconds from receivedAt (the 202) to the processor storing the order, per stored order."
    filter      = "${local.processor_lines} AND jsonPayload.event=\"process\" AND jsonPayload.decision=\"stored\""
    value       = "EXTRACT(jsonPayload.lagSeconds)"
    labels      = local.business_unit_label
    # Explicit bounds, with the freshness bound always one of them, so that the freshness
    # SLO's distribution cut falls on a bucket boundary and counts exactly.
    bounds = concat(
      [for bound in local.lag_bucket_bounds : bound if bound < var.freshness_threshold_seconds],
      [var.freshness_threshold_seconds],
      [for bound in local.lag_bucket_bounds : bound if bound > var.freshness_threshold_seconds],
    )
  }
  lag_bucket_bounds = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600]

  metric_types = merge(
    { for key, metric in local.counter_metrics : key => "logging.googleapis.com/user/${metric.name}" },
    { end_to_end_lag = "logging.googleapis.com/user/${local.lag_metric.name}" },
  )

  # The SLOs (terraform/slo.tf). Google's SRE Workbook ("Alerting on SLOs", multiwindow,
  # multi-burn-rate alerts) for a 30-day objective: page at 14.4x over 1 h (2 % of the
  # budget gone) and at 6x over 6 h (5 % gone), each confirmed by a window 1/12 as long
  # so that the alert stops soon after the burning does.
  slo_rolling_period_days = 30
  slo_service_id          = "${var.function_name_prefix}-order-events"
  slo_filters = merge(
    {
      for name, sli in local.request_slos : "${name}_total" => "metric.type=\"${local.metric_types[sli.total]}\" AND resource.type=\"cloud_run_revision\""
    },
    {
      for name, sli in local.request_slos : "${name}_bad" => "metric.type=\"${local.metric_types[sli.bad]}\" AND resource.type=\"cloud_run_revision\""
    },
    { freshness = "metric.type=\"${local.metric_types.end_to_end_lag}\" AND resource.type=\"cloud_run_revision\"" },
  )
  # The request-based SLOs: bad answers (429 or 5xx) among all, by the counters above.
  # availability keeps the slo_id it was created with.
  request_slos = {
    availability = {
      slo_id       = "put-availability"
      display_name = "PUTs answered without a 429 or 5xx"
      total        = "put_answers"
      bad          = "put_answers_failed"
    }
    reads = {
      slo_id       = "read-availability"
      display_name = "GETs and searches answered without a 429 or 5xx"
      total        = "read_answers"
      bad          = "read_answers_failed"
    }
    pickups = {
      slo_id       = "pickup-availability"
      display_name = "Pickups answered without a 429 or 5xx"
      total        = "pickup_answers"
      bad          = "pickup_answers_failed"
    }
  }
  slo_goals = {
    availability = var.availability_slo_goal
    freshness    = var.freshness_slo_goal
    reads        = var.reads_slo_goal
    pickups      = var.pickups_slo_goal
  }
  burn_rates = {
    fast = { burn_rate = 14.4, hours = 1, severity = "CRITICAL" }
    slow = { burn_rate = 6, hours = 6, severity = "ERROR" }
  }
  burn_rate_alerts = merge([
    for slo in keys(local.slo_goals) : {
      for speed, rate in local.burn_rates : "${slo}_${speed}_burn" => merge(rate, {
        slo          = slo
        speed        = speed
        long_window  = "${rate.hours * 3600}s"
        short_window = "${rate.hours * 300}s"
        window       = "${rate.hours} h"
        confirm      = "${rate.hours * 5} min"
        # Of a 30-day (720 h) budget: burn rate x window / 720 h.
        budget_spent     = "${format("%.0f", rate.burn_rate * rate.hours / 7.2)} %"
        exhaustion_hours = format("%.0f", 720 / rate.burn_rate)
      })
    }
  ]...)

  # What the runbooks (terraform/runbooks/*.md, the alerts' documentation) are rendered with.
  runbook_vars = {
    project_id             = var.project_id
    region                 = var.region
    ingest_service         = local.ingest_function_name
    processor_service      = local.processor_function_name
    orders_topic           = var.orders_topic_name
    processor_subscription = var.processor_subscription_name
    store_updates_topic    = var.store_updates_topic_name
    store_updates_sub      = var.store_updates_subscription_name
    dead_letter_topic      = var.dead_letter_topic_name
    dead_letter_sub        = var.dead_letter_subscription_name
    max_attempts           = var.max_delivery_attempts
    backlog_age_seconds    = var.oldest_unacked_message_age_threshold_seconds
    availability_goal      = "${var.availability_slo_goal * 100} %"
    freshness_goal         = "${var.freshness_slo_goal * 100} %"
    freshness_seconds      = var.freshness_threshold_seconds
    pos_service            = local.pos_function_name
    firestore_database     = var.firestore_database
    reads_goal             = "${var.reads_slo_goal * 100} %"
    pickups_goal           = "${var.pickups_slo_goal * 100} %"
    outage_minutes         = local.outage_window_seconds / 60
    outage_window_minutes  = local.outage_alignment_seconds / 60
  }

  # Outages the SLOs see late or not at all (terraform/outage_alerts.tf): failures that
  # keep coming while no order is stored. Each alert holds when both hold for
  # outage_window_seconds: at least one failure in every window of
  # outage_alignment_seconds, and no stored order at all. An intake outage (the ingest
  # identity lost its publisher grant, the topic is gone, no instance free) answers every
  # PUT 429 or 5xx and so stores nothing; a processor outage (Firestore down) fails every
  # delivery. Traffic that stores something, however many requests fail, is the SLOs'.
  outage_window_seconds    = 600
  outage_alignment_seconds = 300
  stored_orders            = "metric.type=\"${local.metric_types.processor_decisions}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.decision=\"stored\""
  outage_alerts = {
    intake_outage = {
      title    = "orders refused at intake"
      failures = "metric.type=\"${local.metric_types.put_answers_failed}\" AND resource.type=\"cloud_run_revision\""
      failing  = "PUTs answered 429 or 5xx"
    }
    processor_outage = {
      title    = "processor stores nothing"
      failures = "metric.type=\"${local.metric_types.processor_decisions}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.decision=\"unavailable\""
      failing  = "deliveries failing as unavailable (Firestore or the events topic)"
    }
  }

  # What each webhook's alerts are rendered with (terraform/runbooks/webhook_*.md).
  webhook_runbook_vars = {
    for name, webhook in local.webhooks : name => merge(local.runbook_vars, {
      webhook                     = name
      webhook_url                 = webhook.url
      webhook_subscription        = webhook.subscription
      webhook_dead_letter         = webhook.dead_letter
      webhook_replay              = webhook.replay
      webhook_max_attempts        = var.webhook_max_delivery_attempts
      webhook_backlog_age_seconds = var.webhook_oldest_unacked_age_threshold_seconds
    })
  }

  # What terraform/dashboards/operations.json is rendered with, beside the two SLO names.
  dashboard_vars = {
    ingest_service         = local.ingest_function_name
    processor_service      = local.processor_function_name
    pos_service            = local.pos_function_name
    orders_topic           = var.orders_topic_name
    processor_subscription = var.processor_subscription_name
    store_updates_topic    = var.store_updates_topic_name
    store_updates_sub      = var.store_updates_subscription_name
    dead_letter_sub        = var.dead_letter_subscription_name
    put_outcomes           = local.metric_types.put_outcomes
    put_answers            = local.metric_types.put_answers
    processor_decisions    = local.metric_types.processor_decisions
    end_to_end_lag         = local.metric_types.end_to_end_lag
    events_published       = local.metric_types.events_published
    pickups                = local.metric_types.pickups
    conflicts              = local.metric_types.conflicts
    events_topic           = var.events_topic_name
    freshness_seconds      = var.freshness_threshold_seconds
  }
}
