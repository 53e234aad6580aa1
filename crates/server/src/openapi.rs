//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::{access_api, api, quality_api, sources_api};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tapwater API",
        description = "Open government data as fast, documented APIs. 開放政府資料 API。\n\n\
            Errors: every error body is `{\"error\":{\"code\",\"message\",\"param\",\"docs\"}}`; codes are stable and \
            listed in docs/errors.md. Messages follow `Accept-Language` (zh-TW or English).\n\n\
            Caching: reads carry `ETag` and `Last-Modified`; send `If-None-Match` to get 304.\n\n\
            Access: datasets are `public`, `registered` (send an API key), `application` (an approved application) or \
            `restricted` (no row reads). Send a key as `Authorization: Bearer tw_…` or `X-Api-Key`; browser sessions \
            use the `tapwater_session` cookie and send `X-CSRF-Token` on writes. Every answer carries `RateLimit-*` \
            headers; `429` comes with `Retry-After`. See docs/access.md.",
        license(name = "Apache-2.0")
    ),
    paths(
        api::list_datasets, api::get_dataset, api::create_dataset, api::update_dataset, api::list_licenses,
        api::list_versions, api::get_version, api::publish_version, api::get_job, api::rows, api::aggregate, api::sql,
        api::download, sources_api::get_source, sources_api::put_source, sources_api::delete_source,
        sources_api::run_source, sources_api::list_runs,
        crate::pipeline_api::get_pipeline, crate::pipeline_api::put_pipeline,
        crate::pipeline_api::list_pipeline_revisions, crate::pipeline_api::current_transforms,
        crate::pipeline_api::version_transforms, crate::pipeline_api::check,
        access_api::sign_up, access_api::sign_in, access_api::sign_out, access_api::request_reset,
        access_api::confirm_reset, access_api::me, access_api::list_keys, access_api::create_key,
        access_api::revoke_key, access_api::my_applications, access_api::my_usage, access_api::list_users,
        access_api::create_user, access_api::list_organisations, access_api::create_organisation,
        access_api::list_members, access_api::put_member, access_api::delete_member, access_api::put_access,
        access_api::apply, access_api::dataset_applications, access_api::get_application, access_api::decide,
        access_api::audit_log, access_api::audit_verify,
        quality_api::get_metadata, quality_api::put_metadata, quality_api::put_table_schema, quality_api::quality,
        quality_api::quality_history, quality_api::recheck_quality, quality_api::datapackage, quality_api::dcat_jsonld, quality_api::dcat_turtle,
        quality_api::schema_org, quality_api::data_gov_tw, quality_api::catalog_jsonld, quality_api::catalog_turtle,
        quality_api::publisher_quality,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&AdminToken),
    tags(
        (name = "catalog", description = "Datasets, versions and licences"),
        (name = "data", description = "Rows, aggregates, SQL and downloads"),
        (name = "publishing", description = "Creating datasets and publishing versions (admin token)"),
        (name = "sources", description = "Scheduled URL pulls and SQL queries that publish new versions"),
        (name = "accounts", description = "Sign-up, sign-in, sessions, API keys, users and organisations"),
        (name = "access", description = "Access levels, access applications and the audit log"),
        (name = "metadata", description = "Dataset metadata, Table Schema import, Data Package, DCAT-AP, schema.org and data.gov.tw exports"),
        (name = "quality", description = "Quality reports, five-star levels, badges and the publisher dashboard"),
    )
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "TAPWATER_ADMIN_TOKEN, or the token generated in <data-dir>/admin-token on first start",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Api-Key",
                    "An API key (tw_…) from POST /api/v1/me/keys; also accepted as Authorization: Bearer",
                ),
            )),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
