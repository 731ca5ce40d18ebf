variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id: 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the functions, the source bucket and (unless firestore_location says otherwise) a new Firestore database, such as europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "orders_topic_name" {
  description = "Topic the ingest function publishes orders to. shared/config.py DEFAULT_ORDERS_TOPIC is the local stack's name; keep them equal."
  type        = string
  default     = "customer-orders"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.orders_topic_name))
    error_message = "orders_topic_name must be a valid Pub/Sub topic name."
  }
}

variable "processor_subscription_name" {
  description = "Ordered push subscription that feeds the processor. Matches shared/config.py DEFAULT_PROCESSOR_SUBSCRIPTION."
  type        = string
  default     = "customer-orders-processor"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.processor_subscription_name))
    error_message = "processor_subscription_name must be a valid Pub/Sub subscription name."
  }
}

variable "store_updates_topic_name" {
  description = "Topic the pos function publishes store updates to, its only publisher grant (docs/deploying.md#identities-and-iam). Matches shared/config.py DEFAULT_STORE_UPDATES_TOPIC."
  type        = string
  default     = "customer-order-store-updates"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.store_updates_topic_name))
    error_message = "store_updates_topic_name must be a valid Pub/Sub topic name."
  }
}

variable "store_updates_subscription_name" {
  description = "Ordered push subscription that feeds the store updates to the processor's /store-updates path. Matches shared/config.py DEFAULT_STORE_UPDATES_SUBSCRIPTION."
  type        = string
  default     = "customer-order-store-updates-processor"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.store_updates_subscription_name))
    error_message = "store_updates_subscription_name must be a valid Pub/Sub subscription name."
  }
}

variable "dead_letter_topic_name" {
  description = "Topic that receives the orders and store updates the processor failed max_delivery_attempts times. Matches shared/config.py DEFAULT_DEAD_LETTER_TOPIC."
  type        = string
  default     = "customer-orders-dead-letter"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.dead_letter_topic_name))
    error_message = "dead_letter_topic_name must be a valid Pub/Sub topic name."
  }
}

variable "dead_letter_subscription_name" {
  description = "Pull subscription that keeps dead-lettered orders for inspection and replay. Matches shared/config.py DEFAULT_DEAD_LETTER_SUBSCRIPTION."
  type        = string
  default     = "customer-orders-dead-letter"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.dead_letter_subscription_name))
    error_message = "dead_letter_subscription_name must be a valid Pub/Sub subscription name."
  }
}

variable "max_delivery_attempts" {
  # 10 (shared/config.py DEFAULT_MAX_DELIVERY_ATTEMPTS, also the local stack's):
  # with the default backoff (10 s doubling up to 600 s) ten attempts span
  # roughly 40 minutes: long enough to ride out a Firestore blip or the rollback
  # of a bad deploy, short enough that a poison order is parked (and its
  # ordering key unblocked) within the hour. Pub/Sub allows 5 to 100.
  description = "Deliveries of one message to the processor before it goes to the dead-letter topic (5..100)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's limits)."
  }
}

variable "retry_minimum_backoff_seconds" {
  description = "Shortest wait before Pub/Sub redelivers a message the processor failed (exponential backoff starts here)."
  type        = number
  default     = 10

  validation {
    condition     = var.retry_minimum_backoff_seconds >= 0 && var.retry_minimum_backoff_seconds <= 600
    error_message = "retry_minimum_backoff_seconds must be from 0 to 600."
  }
}

variable "retry_maximum_backoff_seconds" {
  description = "Longest wait between redeliveries of one message (exponential backoff stops growing here)."
  type        = number
  default     = 600

  validation {
    condition     = var.retry_maximum_backoff_seconds >= var.retry_minimum_backoff_seconds && var.retry_maximum_backoff_seconds <= 600
    error_message = "retry_maximum_backoff_seconds must be from retry_minimum_backoff_seconds to 600."
  }
}

variable "processor_timeout_seconds" {
  description = "Request timeout of the processor; also the subscription's ack deadline, which for push is the HTTP timeout and must not be shorter."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_timeout_seconds >= 10 && var.processor_timeout_seconds <= 600
    error_message = "processor_timeout_seconds must be from 10 to 600 (Pub/Sub's largest ack deadline)."
  }
}

variable "message_retention_seconds" {
  description = "How long the processor and dead-letter subscriptions keep undelivered messages (600 s to 7 days)."
  type        = number
  default     = 604800

  validation {
    condition     = var.message_retention_seconds >= 600 && var.message_retention_seconds <= 604800
    error_message = "message_retention_seconds must be from 600 (10 minutes) to 604800 (7 days)."
  }
}

variable "dead_letter_topic_retention_seconds" {
  description = "How long the dead-letter topic itself keeps messages, so a subscription can seek back and replay them even after they were acknowledged (up to 31 days)."
  type        = number
  default     = 2678400

  validation {
    condition     = var.dead_letter_topic_retention_seconds >= 600 && var.dead_letter_topic_retention_seconds <= 2678400
    error_message = "dead_letter_topic_retention_seconds must be from 600 to 2678400 (31 days)."
  }
}

variable "orders_topic_retention_seconds" {
  description = "How long the orders topic keeps every message, acknowledged or not, so that the processor's subscription can be sought back to a time before a bad release and replayed (docs/operations.md#replaying-after-a-bug). Pub/Sub allows 600 s to 31 days; storage is billed."
  type        = number
  default     = 604800

  validation {
    condition     = var.orders_topic_retention_seconds >= 600 && var.orders_topic_retention_seconds <= 2678400 && floor(var.orders_topic_retention_seconds) == var.orders_topic_retention_seconds
    error_message = "orders_topic_retention_seconds must be a whole number from 600 (10 minutes) to 2678400 (31 days)."
  }
}

variable "ingest_invoker_members" {
  description = "Who may call the ingest function, as IAM members (e.g. serviceAccount:oms@oms-project.iam.gserviceaccount.com). Public access is refused."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for member in var.ingest_invoker_members :
      can(regex("^(user|serviceAccount|group|domain|principal|principalSet):.+", member))
    ])
    error_message = "Each ingest_invoker_members entry must be an IAM member such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com; allUsers and allAuthenticatedUsers are not allowed."
  }
}

variable "pos_invoker_members" {
  description = "Who may call the pos function (the stores' POS: read orders, record pickups), as IAM members. None of them may be in ingest_invoker_members: the OMS sends orders, the POS records pickups, and neither may do the other's."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for member in var.pos_invoker_members :
      can(regex("^(user|serviceAccount|group|domain|principal|principalSet):.+", member))
    ])
    error_message = "Each pos_invoker_members entry must be an IAM member such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com; allUsers and allAuthenticatedUsers are not allowed."
  }

  validation {
    condition     = length(setintersection(toset(var.pos_invoker_members), toset(var.ingest_invoker_members))) == 0
    error_message = "A member may not be in both ingest_invoker_members and pos_invoker_members: the OMS's identities must not record pickups, nor the POS's send orders."
  }
}

variable "cancelled_statuses" {
  description = "The order statuses that cancel an order: once a store handed something out, an OMS version with one of them is refused (shared/config.py DEFAULT_CANCELLED_STATUSES)."
  type        = list(string)
  default     = ["CANCELLED"]

  validation {
    condition = length(var.cancelled_statuses) >= 1 && alltrue([
      for status in var.cancelled_statuses :
      length(status) >= 1 && length(status) <= 100 && trimspace(status) == status && !strcontains(status, ",")
    ])
    error_message = "cancelled_statuses must hold at least one status, each 1 to 100 characters without surrounding spaces or commas."
  }
}

variable "notification_channels" {
  description = "Monitoring notification channels (projects/PROJECT/notificationChannels/ID) that the alert policies notify."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for channel in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", channel))])
    error_message = "Each notification channel must be a full name: projects/PROJECT/notificationChannels/ID."
  }
}

variable "billing_account" {
  description = "The Cloud Billing account (XXXXXX-XXXXXX-XXXXXX) the project is billed to, for a monthly budget with alerts (docs/deploying.md#the-billing-budget). Null, with monthly_budget: no budget."
  type        = string
  default     = null

  validation {
    condition     = var.billing_account == null || can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must be a billing account id such as 012345-6789AB-CDEF01 (upper-case hex)."
  }
}

variable "monthly_budget" {
  description = "The project's monthly budget, a whole amount in the billing account's currency; alerts at 50, 90 and 100 % of it spent and at 100 % forecast. Null, with billing_account: no budget."
  type        = number
  default     = null

  validation {
    # try(): a null amount cannot be compared, and is valid when billing_account is null too.
    condition     = try(var.monthly_budget > 0 && floor(var.monthly_budget) == var.monthly_budget, false) ? var.billing_account != null : var.monthly_budget == null && var.billing_account == null
    error_message = "monthly_budget must be a whole amount above 0, set together with billing_account (or both left null)."
  }
}

variable "oldest_unacked_message_age_threshold_seconds" {
  description = "Alert when the oldest message on either of the processor's subscriptions (orders, store updates) has waited longer than this."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_unacked_message_age_threshold_seconds >= 60
    error_message = "oldest_unacked_message_age_threshold_seconds must be at least 60."
  }
}

variable "create_firestore_database" {
  description = "Create the Firestore database (native mode). Set to false when the project already has it (such as an existing (default) database)."
  type        = bool
  default     = true
}

variable "firestore_database" {
  description = "Firestore database the functions use (FIRESTORE_DATABASE); matches shared/config.py DEFAULT_FIRESTORE_DATABASE."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.firestore_database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database))
    error_message = "firestore_database must be (default) or a database id of 4 to 63 lowercase letters, digits or hyphens."
  }
}

variable "firestore_location" {
  description = "Location of a new Firestore database; null means var.region. Cannot change once created."
  type        = string
  default     = null
}

variable "function_name_prefix" {
  description = "Prefix of the two functions' names (PREFIX-ingest, PREFIX-processor) and their service accounts."
  type        = string
  default     = "customer-orders"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.function_name_prefix))
    error_message = "function_name_prefix must be 2 to 16 lowercase letters, digits or hyphens, starting with a letter (service account ids are limited to 30 characters)."
  }
}

# The Python uv.lock is resolved for and the tests run on (.python-version, requires-python in
# pyproject.toml): functions/requirements.txt pins wheels for it alone. Change them together
# (tests/terraform/test_python_runtime.py), never this one by itself.
variable "python_runtime" {
  description = "Cloud Functions Python runtime of both functions: the one uv.lock is resolved for."
  type        = string
  default     = "python311"

  validation {
    condition     = var.python_runtime == "python311"
    error_message = "python_runtime must be python311: uv.lock and functions/requirements.txt are resolved for Python 3.11 (.python-version)."
  }
}

variable "ingest_max_instances" {
  description = "Upper bound on ingest instances."
  type        = number
  default     = 20

  validation {
    condition     = var.ingest_max_instances >= 1
    error_message = "ingest_max_instances must be at least 1."
  }
}

variable "pos_max_instances" {
  description = "Upper bound on pos instances."
  type        = number
  default     = 20

  validation {
    condition     = var.pos_max_instances >= 1
    error_message = "pos_max_instances must be at least 1."
  }
}

variable "processor_max_instances" {
  description = "Upper bound on processor instances; it also bounds the concurrent Firestore transactions."
  type        = number
  default     = 20

  validation {
    condition     = var.processor_max_instances >= 1
    error_message = "processor_max_instances must be at least 1."
  }
}

variable "function_request_concurrency" {
  description = "Requests one function instance serves at once: gunicorn's THREADS in its one worker, and max_instance_request_concurrency."
  type        = number
  # make bench (docs/performance.md#tuning): one worker is bound to one vCPU by the GIL;
  # 8 and 16 threads gave the same throughput there, 32 only added latency, and 16
  # leaves room for production's slower Publish and Firestore round trips.
  default = 16

  validation {
    condition     = var.function_request_concurrency >= 1 && var.function_request_concurrency <= 80
    error_message = "function_request_concurrency must be from 1 to 80."
  }
}

variable "function_memory" {
  description = "Memory of each function instance."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.function_memory))
    error_message = "function_memory must be like 512Mi or 1Gi."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels."
  type        = map(string)
  default     = {}
}

variable "availability_slo_goal" {
  description = "Share of PUTs, over 30 days, answered without a 429 or 5xx, a deliberate 503 included (docs/operations.md#service-level-objectives)."
  type        = number
  default     = 0.999

  validation {
    # Cloud Monitoring accepts 0 < goal <= 0.999 (google_monitoring_slo).
    condition     = var.availability_slo_goal > 0 && var.availability_slo_goal <= 0.999
    error_message = "availability_slo_goal must be greater than 0 and at most 0.999."
  }
}

variable "freshness_slo_goal" {
  description = "Share of stored orders, over 30 days, stored within freshness_threshold_seconds of their 202."
  type        = number
  default     = 0.99

  validation {
    condition     = var.freshness_slo_goal > 0 && var.freshness_slo_goal <= 0.999
    error_message = "freshness_slo_goal must be greater than 0 and at most 0.999."
  }
}

variable "reads_slo_goal" {
  description = "Share of GETs and searches on ingest and pos, over 30 days, answered without a 429 or 5xx. Below availability's: at a few reads an hour, one failure must not page (docs/operations.md#service-level-objectives)."
  type        = number
  default     = 0.99

  validation {
    condition     = var.reads_slo_goal > 0 && var.reads_slo_goal <= 0.999
    error_message = "reads_slo_goal must be greater than 0 and at most 0.999."
  }
}

variable "pickups_slo_goal" {
  description = "Share of pickups, over 30 days, answered without a 429 or 5xx. Below availability's: at a few pickups an hour, one failure must not page (docs/operations.md#service-level-objectives)."
  type        = number
  default     = 0.99

  validation {
    condition     = var.pickups_slo_goal > 0 && var.pickups_slo_goal <= 0.999
    error_message = "pickups_slo_goal must be greater than 0 and at most 0.999."
  }
}

variable "freshness_threshold_seconds" {
  description = "The freshness bound: an order counts as fresh when the processor stored it within this many seconds of its receivedAt."
  type        = number
  default     = 60

  validation {
    # The lag distribution's largest finite bucket bound is 3600 s (terraform/observability.tf).
    condition     = var.freshness_threshold_seconds > 0 && var.freshness_threshold_seconds <= 3600
    error_message = "freshness_threshold_seconds must be greater than 0 and at most 3600."
  }
}

variable "business_unit_label_values" {
  description = "Business units that get their own value of the business_unit label on the log-based metrics; every other unit counts under the empty value. Empty: no business_unit label at all."
  type        = list(string)
  default     = []

  validation {
    # Each value becomes one more time series per label combination: keep the list short,
    # and to characters that need no escaping inside the extractor's regular expression.
    condition     = length(var.business_unit_label_values) <= 20 && alltrue([for unit in var.business_unit_label_values : can(regex("^[A-Za-z0-9_-]{1,64}$", unit))])
    error_message = "business_unit_label_values may hold at most 20 business units, each 1 to 64 letters, digits, '_' or '-'."
  }
}

variable "runbook_url" {
  description = "Where the team reads docs/operations.md, the alerts' runbooks (e.g. https://git.example.com/team/customer-order-events/blob/main/docs/operations.md); each alert links to it. Null: the alerts name the document without a link."
  type        = string
  default     = null

  validation {
    condition     = var.runbook_url == null || can(regex("^https://", var.runbook_url))
    error_message = "runbook_url must be an https:// URL, or null."
  }
}

variable "events_topic_name" {
  description = "Topic the processor publishes an event to for every stored version (CloudEvents, binary mode). Matches shared/config.py DEFAULT_EVENTS_TOPIC; each webhook's subscription, dead-letter topic and replay topic are named after it."
  type        = string
  default     = "customer-order-events"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,200}$", var.events_topic_name))
    error_message = "events_topic_name must be a valid Pub/Sub topic name of at most 201 characters (the webhooks' resources append to it)."
  }
}

variable "event_webhooks" {
  description = "Who is told of every order change: each webhook gets a push subscription on the events topic (payload unwrapping: the event as an HTTP request in CloudEvents binary mode), a Google-signed OIDC token whose audience is audience (default: the URL), a retry policy, a dead-letter topic and queue, a replay topic and two alerts. business_units (at most 7, any ids), when not empty, becomes the subscription's filter: only the events of orders those units concern, by the order's path or a fulfillment to be picked up there. A webhook's filter cannot change in place: editing business_units replaces its subscription."
  type = list(object({
    name           = string
    url            = string
    audience       = optional(string)
    business_units = optional(list(string), [])
  }))
  default = []

  validation {
    condition     = length(distinct([for webhook in var.event_webhooks : webhook.name])) == length(var.event_webhooks)
    error_message = "Each webhook needs a name of its own."
  }

  validation {
    condition     = alltrue([for webhook in var.event_webhooks : can(regex("^[a-z][a-z0-9-]{0,29}$", webhook.name))])
    error_message = "A webhook name is 1 to 30 lowercase letters, digits or hyphens, starting with a letter (it names its subscription and topics)."
  }

  validation {
    condition     = alltrue([for webhook in var.event_webhooks : can(regex("^https://[^/?#\\s]+", webhook.url))])
    error_message = "A webhook url must be an https:// URL: Pub/Sub signs and sends the OIDC token only over HTTPS."
  }

  validation {
    condition     = alltrue(flatten([for webhook in var.event_webhooks : [for unit in webhook.business_units : length(unit) > 0]]))
    error_message = "A webhook's business unit may not be empty."
  }

  validation {
    # Pub/Sub refuses a filter over 256 bytes; each unit is a 30-byte term whatever its id
    # (attributes:bu- and 16 hex digits), joined by " OR ": seven fit (234 bytes).
    condition     = alltrue([for webhook in var.event_webhooks : length(distinct(webhook.business_units)) <= 7])
    error_message = "A webhook's filter holds at most 7 business units (Pub/Sub's 256 bytes): split the units over several webhooks to the same URL."
  }
}

variable "webhook_max_delivery_attempts" {
  description = "Deliveries of one event to a webhook before it goes to the webhook's dead-letter topic (5..100)."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_max_delivery_attempts >= 5 && var.webhook_max_delivery_attempts <= 100 && floor(var.webhook_max_delivery_attempts) == var.webhook_max_delivery_attempts
    error_message = "webhook_max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's limits)."
  }
}

variable "webhook_retry_minimum_backoff_seconds" {
  description = "Shortest wait before Pub/Sub delivers an event again to a webhook that failed it."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_retry_minimum_backoff_seconds >= 0 && var.webhook_retry_minimum_backoff_seconds <= 600
    error_message = "webhook_retry_minimum_backoff_seconds must be from 0 to 600."
  }
}

variable "webhook_retry_maximum_backoff_seconds" {
  description = "Longest wait between deliveries of one event to a webhook."
  type        = number
  default     = 600

  validation {
    condition     = var.webhook_retry_maximum_backoff_seconds >= var.webhook_retry_minimum_backoff_seconds && var.webhook_retry_maximum_backoff_seconds <= 600
    error_message = "webhook_retry_maximum_backoff_seconds must be from webhook_retry_minimum_backoff_seconds to 600."
  }
}

variable "webhook_timeout_seconds" {
  description = "How long Pub/Sub waits for a webhook to answer a delivery (the push subscription's ack deadline); no answer in time is a failed delivery."
  type        = number
  default     = 30

  validation {
    condition     = var.webhook_timeout_seconds >= 10 && var.webhook_timeout_seconds <= 600
    error_message = "webhook_timeout_seconds must be from 10 to 600 (Pub/Sub's ack deadline bounds)."
  }
}

variable "webhook_oldest_unacked_age_threshold_seconds" {
  description = "Alert when a webhook's oldest undelivered event has waited longer than this."
  type        = number
  default     = 900

  validation {
    condition     = var.webhook_oldest_unacked_age_threshold_seconds >= 60
    error_message = "webhook_oldest_unacked_age_threshold_seconds must be at least 60."
  }
}

# --- Which stores each POS identity holds (terraform/pos_access.tf) -------------------------

variable "pos_audiences" {
  description = "The audiences the pos function accepts in a caller's ID token: the URLs POS clients call it by. Empty: its deterministic run.app URL and its cloudfunctions.net URL (docs/deploying.md#the-pos-functions-callers)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for audience in var.pos_audiences : can(regex("^https://[^,\\s]+$", audience))])
    error_message = "Each pos_audiences entry must be an https:// URL without commas or spaces."
  }
}

variable "pos_grants_cache_seconds" {
  description = "How long the pos function keeps a POS identity's grant after reading it: an orders-stores change, a revocation above all, takes effect within this bound (shared/config.py DEFAULT_GRANTS_CACHE_SECONDS)."
  type        = number
  default     = 30

  validation {
    condition     = var.pos_grants_cache_seconds >= 1 && var.pos_grants_cache_seconds <= 60
    error_message = "pos_grants_cache_seconds must be 1 to 60: a revocation must take effect within a minute."
  }
}

variable "stores_operators" {
  description = "Who may run orders-stores, which grants POS identities their business units, as IAM members (a group is best). They get roles/datastore.user on the orders database, where the grants are."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for member in var.stores_operators :
      can(regex("^(user|serviceAccount|group|domain|principal|principalSet):.+", member))
    ])
    error_message = "Each stores_operators entry must be an IAM member such as group:pos-admins@example.com."
  }
}

variable "pos_refusals_alert_threshold" {
  description = "Refused pos calls (401 and 403) by one identity within five minutes that page: a leaked credential probing other stores."
  type        = number
  default     = 20

  validation {
    condition     = var.pos_refusals_alert_threshold >= 1
    error_message = "pos_refusals_alert_threshold must be at least 1."
  }
}
