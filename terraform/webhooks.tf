# The webhooks of var.event_webhooks, named and filtered: locals only, so that
# tests/terraform evaluates them with `terraform console`, offline. Each name is the one
# shared/config.py gives the local stack's webhooks (webhook_*_name), and each filter the
# one shared/domain/events.py store_filter writes; tests hold them together.
locals {
  webhooks = {
    for webhook in var.event_webhooks : webhook.name => {
      url            = webhook.url
      audience       = coalesce(webhook.audience, webhook.url)
      business_units = webhook.business_units
      subscription   = "${var.events_topic_name}-${webhook.name}"
      dead_letter    = "${var.events_topic_name}-${webhook.name}-dead-letter"
      replay         = "${var.events_topic_name}-${webhook.name}-replay"
      # The filter by the stores an event concerns (its path's unit and its fulfillments'
      # pickup stores), one attribute key per store: shared/domain/events.py store_filter.
      store_filter = length(webhook.business_units) == 0 ? null : join(" OR ", [
        for unit in distinct(webhook.business_units) : "attributes:bu-${substr(sha256(unit), 0, 16)}"
      ])
    }
  }

  # Each webhook is pushed to by two subscriptions alike: the live one on the events topic,
  # and the one on its replay topic, where `orders-dlq replay` sends its dead letters.
  webhook_deliveries = merge(
    { for name, webhook in local.webhooks : name => { webhook = name, subscription = webhook.subscription, replay = false } },
    { for name, webhook in local.webhooks : "${name}-replay" => { webhook = name, subscription = webhook.replay, replay = true } },
  )
}
