locals {
  # Folder under functions/ => entry point; shared/deploy_package.py FUNCTIONS says the same.
  functions = {
    ingest    = { dir = "ingest", entry_point = "ingest" }
    processor = { dir = "processor", entry_point = "process" }
    pos       = { dir = "pos", entry_point = "pos" }
  }
  # The conflict rule's statuses, for every function that decides by it.
  status_env = {
    CANCELLED_STATUSES = join(",", var.cancelled_statuses)
  }
}

# Which files go into each zip: see modules/function_source/deploy-package.json.
module "function_source" {
  source   = "./modules/function_source"
  for_each = local.functions

  repo_root    = local.repo_root
  function_dir = each.value.dir
}

data "archive_file" "function_source" {
  for_each = local.functions

  type             = "zip"
  output_path      = "${path.module}/build/${each.key}.zip"
  output_file_mode = "0644"

  dynamic "source" {
    for_each = module.function_source[each.key].files
    content {
      filename = source.key
      content  = file(source.value)
    }
  }
}

resource "google_storage_bucket" "function_source" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs that Terraform uploads; Cloud Audit Logs already record who touched them.
  #checkov:skip=CKV_GCP_78:Objects are never overwritten: each is named by its content hash, and any older one is rebuilt from git on rollback.
  project  = var.project_id
  name     = "${var.project_id}-customer-order-events-source"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "function_source" {
  for_each = local.functions

  # The hash in the name makes any change of the code a new object, and so a new build.
  name   = "${each.key}-${data.archive_file.function_source[each.key].output_md5}.zip"
  bucket = google_storage_bucket.function_source.name
  source = data.archive_file.function_source[each.key].output_path
}

resource "google_cloudfunctions2_function" "ingest" {
  #checkov:skip=CKV_GCP_124:The OMS calls from outside Google Cloud, so ingress must be open; IAM still refuses every caller without an ID token of an ingest_invoker_members member.
  project     = var.project_id
  name        = local.ingest_function_name
  location    = var.region
  description = "The OMS PUTs customer orders here; they are published to ${var.orders_topic_name}."
  labels      = local.labels

  build_config {
    runtime         = var.python_runtime
    entry_point     = local.functions.ingest.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source["ingest"].name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.ingest.email
    # Reachable from the internet for the OMS, but every call needs an ID token
    # of a member of var.ingest_invoker_members (no allUsers binding exists).
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    timeout_seconds                = 60
    available_memory               = var.function_memory
    # A request concurrency above 1 needs at least one whole vCPU.
    available_cpu                    = "1"
    max_instance_request_concurrency = var.function_request_concurrency
    max_instance_count               = var.ingest_max_instances

    environment_variables = {
      # One gunicorn worker: a second only helps with a second vCPU and costs about
      # 75 MiB. Its threads equal Cloud Run's concurrency, so requests wait in Cloud
      # Run's queue, where autoscaling sees them, not inside gunicorn.
      WORKERS              = "1"
      THREADS              = tostring(var.function_request_concurrency)
      GOOGLE_CLOUD_PROJECT = var.project_id
      ORDERS_TOPIC         = google_pubsub_topic.orders.name
      FIRESTORE_DATABASE   = local.firestore_database
      LOG_EXECUTION_ID     = "true"
    }
  }

  depends_on = [
    google_project_service.enabled,
    time_sleep.iam_propagation,
  ]
}

resource "google_cloudfunctions2_function" "processor" {
  project     = var.project_id
  name        = local.processor_function_name
  location    = var.region
  description = "Applies each order pushed by ${var.processor_subscription_name} and each store update pushed by ${var.store_updates_subscription_name} in Firestore under the conflict rule and publishes its event to ${var.events_topic_name}."
  labels      = local.labels

  build_config {
    runtime         = var.python_runtime
    entry_point     = local.functions.processor.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source["processor"].name
      }
    }
  }

  # No event_trigger: Eventarc's managed subscription can be neither ordered nor
  # dead-lettered, so google_pubsub_subscription.processor pushes here instead, and
  # google_pubsub_subscription.store_updates to its /store-updates path.
  service_config {
    service_account_email = google_service_account.processor.email
    # Pub/Sub push from this project counts as internal traffic.
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    timeout_seconds                  = var.processor_timeout_seconds
    available_memory                 = var.function_memory
    available_cpu                    = "1"
    max_instance_request_concurrency = var.function_request_concurrency
    max_instance_count               = var.processor_max_instances

    environment_variables = {
      WORKERS              = "1"
      THREADS              = tostring(var.function_request_concurrency)
      GOOGLE_CLOUD_PROJECT = var.project_id
      EVENTS_TOPIC         = google_pubsub_topic.events.name
      FIRESTORE_DATABASE   = local.firestore_database
      LOG_EXECUTION_ID     = "true"
      CANCELLED_STATUSES   = local.status_env.CANCELLED_STATUSES
    }
  }

  depends_on = [
    google_project_service.enabled,
    time_sleep.iam_propagation,
  ]
}

# Only the push identity may call the processor.
resource "google_cloud_run_v2_service_iam_member" "processor_push_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.processor.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.push_invoker.member
}

resource "google_cloud_run_v2_service_iam_member" "ingest_invoker" {
  for_each = toset(var.ingest_invoker_members)

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.ingest.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# The stores' POS: reads orders and records pickups. A function of its own, so that its
# invokers (var.pos_invoker_members) and the OMS's (var.ingest_invoker_members) are two
# IAM lists on two Cloud Run services: neither audience can call the other's API.
resource "google_cloudfunctions2_function" "pos" {
  #checkov:skip=CKV_GCP_124:The stores' POS calls from outside Google Cloud, so ingress must be open; IAM still refuses every caller without an ID token of a pos_invoker_members member.
  project     = var.project_id
  name        = local.pos_function_name
  location    = var.region
  description = "The stores' POS reads customer orders and records store updates here; each is published to ${var.store_updates_topic_name} before it is stored."
  labels      = local.labels

  build_config {
    runtime         = var.python_runtime
    entry_point     = local.functions.pos.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source["pos"].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.pos.email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    timeout_seconds                  = 60
    available_memory                 = var.function_memory
    available_cpu                    = "1"
    max_instance_request_concurrency = var.function_request_concurrency
    max_instance_count               = var.pos_max_instances

    environment_variables = {
      WORKERS              = "1"
      THREADS              = tostring(var.function_request_concurrency)
      GOOGLE_CLOUD_PROJECT = var.project_id
      STORE_UPDATES_TOPIC  = google_pubsub_topic.store_updates.name
      FIRESTORE_DATABASE   = local.firestore_database
      LOG_EXECUTION_ID     = "true"
      CANCELLED_STATUSES   = local.status_env.CANCELLED_STATUSES
      # Each caller's ID token is verified again for these audiences, and its grants are
      # kept this long at most (terraform/pos_access.tf).
      POS_AUDIENCES            = join(",", local.pos_audiences)
      POS_GRANTS_CACHE_SECONDS = tostring(var.pos_grants_cache_seconds)
    }
  }

  depends_on = [
    google_project_service.enabled,
    time_sleep.iam_propagation,
    # What it publishes must reach the processor: a message published before the topic
    # has a subscription is lost.
    google_pubsub_subscription.store_updates,
    # Named here so that the release before's grant on the orders topic, which its pos
    # function needs until this one serves, is removed only after this function was
    # replaced (create_before_destroy in terraform/pubsub.tf).
    google_pubsub_topic_iam_member.pos_publisher,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "pos_invoker" {
  for_each = toset(var.pos_invoker_members)

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.pos.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}
