# Firestore: the database, the composite indexes the panel's queries need, and the single-field
# index exemptions for big maps nobody queries. tests/terraform/test_firestore.py compares the
# indexes with catalogist.panel.queries.composite_indexes() both ways.

resource "google_firestore_database" "this" {
  # The functions use the default database (CATALOGIST_FIRESTORE_DATABASE unset).
  name        = "(default)"
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  app_engine_integration_mode = "DISABLED"
  # A bad import or a bad model release can be undone from any minute of the last 7 days.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  # The catalogue and the reviewers' decisions are the product: no API call deletes them ...
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  # ... and neither does `terraform destroy`, which only forgets the database.
  deletion_policy = "ABANDON"

  depends_on = [time_sleep.apis]
}

# Composite indexes: exactly catalogist.panel.queries.composite_indexes(), in its order. Each
# depends on the one before: Firestore refuses concurrent index builds on a database with 409
# (ABORTED / "too much contention"), so parallel creation fails on a fresh project. The queue's
# filters (vendor, kind, top_category, review_code) combine freely, hence one index per subset.

resource "google_firestore_index" "products_vendor_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_database.this]
}

resource "google_firestore_index" "products_kind_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_review_rank]
}

resource "google_firestore_index" "products_top_category_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_kind_review_rank]
}

resource "google_firestore_index" "products_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_top_category_review_rank]
}

resource "google_firestore_index" "products_vendor_kind_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_review_code_review_rank]
}

resource "google_firestore_index" "products_vendor_top_category_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_kind_review_rank]
}

resource "google_firestore_index" "products_vendor_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_top_category_review_rank]
}

resource "google_firestore_index" "products_kind_top_category_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_review_code_review_rank]
}

resource "google_firestore_index" "products_kind_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_kind_top_category_review_rank]
}

resource "google_firestore_index" "products_top_category_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_kind_review_code_review_rank]
}

resource "google_firestore_index" "products_vendor_kind_top_category_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_top_category_review_code_review_rank]
}

resource "google_firestore_index" "products_vendor_kind_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_kind_top_category_review_rank]
}

resource "google_firestore_index" "products_vendor_top_category_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_kind_review_code_review_rank]
}

resource "google_firestore_index" "products_kind_top_category_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_top_category_review_code_review_rank]
}

resource "google_firestore_index" "products_vendor_kind_top_category_review_code_review_rank" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "kind"
    order      = "ASCENDING"
  }
  fields {
    field_path = "top_category"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_code"
    order      = "ASCENDING"
  }
  fields {
    field_path = "review_rank"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_kind_top_category_review_code_review_rank]
}

resource "google_firestore_index" "products_needs_review_updated_at" {
  database    = google_firestore_database.this.name
  collection  = "products"
  query_scope = "COLLECTION"

  fields {
    field_path = "needs_review"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updated_at"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_index.products_vendor_kind_top_category_review_code_review_rank]
}

resource "google_firestore_index" "imports_vendor_started_at_desc" {
  database    = google_firestore_database.this.name
  collection  = "imports"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "started_at"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_index.products_needs_review_updated_at]
}

resource "google_firestore_index" "uploads_status_received_at_desc" {
  database    = google_firestore_database.this.name
  collection  = "uploads"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "received_at"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_index.imports_vendor_started_at_desc]
}

resource "google_firestore_index" "uploads_vendor_received_at_desc" {
  database    = google_firestore_database.this.name
  collection  = "uploads"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "received_at"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_index.uploads_status_received_at_desc]
}

resource "google_firestore_index" "uploads_vendor_status_received_at_desc" {
  database    = google_firestore_database.this.name
  collection  = "uploads"
  query_scope = "COLLECTION"

  fields {
    field_path = "vendor"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "received_at"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_index.uploads_vendor_received_at_desc]
}

# Single-field index exemptions. Firestore indexes every field of every document by default, map
# entries and array elements included: each is an index entry written with the document. These
# fields are written but never filtered or ordered on (every query filters top-level fields:
# panel/queries.py, ledger.other_versions on uploads.object_key, imports/pages.py on
# products.decided_at), so indexing them only costs write latency, storage and index-entry
# headroom. An empty index_config removes the field's indexes, its subfields' included.
# Chained like the indexes: concurrent field updates on one database fail the same way
# (terraform-provider-google issues 14997, 16329).

# photos.<key>.probabilities: one float per leaf category per photo, plus the image
# facts; the keys are vendor file names, so the field paths are unbounded.
resource "google_firestore_field" "products_photos" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "photos"

  index_config {}

  depends_on = [google_firestore_index.uploads_vendor_status_received_at_desc]
}

# Arbitrary vendor columns: unbounded field names.
resource "google_firestore_field" "products_attributes" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "attributes"

  index_config {}

  depends_on = [google_firestore_field.products_photos]
}

# Free vendor text, up to kilobytes.
resource "google_firestore_field" "products_description" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "description"

  index_config {}

  depends_on = [google_firestore_field.products_attributes]
}

# Decision maps (path, confidence per level, alternatives): the panel filters on their
# top-level copies (category_path, top_category, needs_review, review_code) instead.
resource "google_firestore_field" "products_image_category" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "image_category"

  index_config {}

  depends_on = [google_firestore_field.products_description]
}

# The same decision, from a vendor-file row.
resource "google_firestore_field" "products_text_category" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "text_category"

  index_config {}

  depends_on = [google_firestore_field.products_image_category]
}

# The effective decision, copied from one of the two above or a human's.
resource "google_firestore_field" "products_category" {
  database   = google_firestore_database.this.name
  collection = "products"
  field      = "category"

  index_config {}

  depends_on = [google_firestore_field.products_text_category]
}

# The import report: up to 50 rejected rows with vendor text ...
resource "google_firestore_field" "imports_first_rejected" {
  database   = google_firestore_database.this.name
  collection = "imports"
  field      = "first_rejected"

  index_config {}

  depends_on = [google_firestore_field.products_category]
}

# ... the duplicate SKUs with their row numbers ...
resource "google_firestore_field" "imports_duplicates" {
  database   = google_firestore_database.this.name
  collection = "imports"
  field      = "duplicates"

  index_config {}

  depends_on = [google_firestore_field.imports_first_rejected]
}

# ... the column mapping used ...
resource "google_firestore_field" "imports_column_mapping" {
  database   = google_firestore_database.this.name
  collection = "imports"
  field      = "column_mapping"

  index_config {}

  depends_on = [google_firestore_field.imports_duplicates]
}

# ... and the file's header.
resource "google_firestore_field" "imports_columns" {
  database   = google_firestore_database.this.name
  collection = "imports"
  field      = "columns"

  index_config {}

  depends_on = [google_firestore_field.imports_column_mapping]
}

# Object metadata set by the vendor: arbitrary keys.
resource "google_firestore_field" "uploads_metadata" {
  database   = google_firestore_database.this.name
  collection = "uploads"
  field      = "metadata"

  index_config {}

  depends_on = [google_firestore_field.imports_columns]
}

# Claims of processing attempts (upload_attempts/{upload}-{n}) matter for minutes; the function
# writes expires_at on each, and Firestore deletes the document some time after that moment
# (typically within a day). No single-field index either: nothing queries it, and an indexed
# timestamp that only grows is a write hotspot.
resource "google_firestore_field" "upload_attempts_expires_at" {
  database   = google_firestore_database.this.name
  collection = "upload_attempts"
  field      = "expires_at"

  index_config {}
  ttl_config {}

  depends_on = [google_firestore_field.uploads_metadata]
}

# A daily backup, kept firestore_backup_days: point-in-time recovery covers the last 7 days; a
# backup restores a mistake noticed later, into a new database.
resource "google_firestore_backup_schedule" "daily" {
  database  = google_firestore_database.this.name
  retention = "${var.firestore_backup_days * 86400}s"

  daily_recurrence {}
}
