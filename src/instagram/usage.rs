//! Meta's usage headers (`X-App-Usage`, `X-Business-Use-Case-Usage`), parsed leniently: any
//! numeric field counts, whatever it is called (`call_count`, `call_volume`, `cpu_time`, ...).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The latest usage figures Instagram reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateLimitUsage {
    /// `X-App-Usage`: percentages of the app's limits.
    #[schema(example = json!({"call_count": 12.0, "total_cputime": 3.0, "total_time": 5.0}))]
    pub app: BTreeMap<String, f64>,
    /// `X-Business-Use-Case-Usage`, flattened over business ids (the highest value per field).
    pub business_use_case: BTreeMap<String, f64>,
    /// The highest percentage of any limit; throttling may begin at 100.
    #[schema(example = 12.0)]
    pub max_percent: f64,
    /// Minutes until access is regained, when throttled.
    #[schema(required = true)]
    pub regain_access_minutes: Option<u64>,
    pub observed_at: DateTime<Utc>,
}

const PERCENT_FIELDS_EXCLUDED: [&str; 1] = ["estimated_time_to_regain_access"];

fn numbers(value: &Value, into: &mut BTreeMap<String, f64>) {
    if let Value::Object(map) = value {
        for (key, v) in map {
            if let Some(n) = v.as_f64() {
                let slot = into.entry(key.clone()).or_insert(n);
                *slot = slot.max(n);
            }
        }
    }
}

impl RateLimitUsage {
    /// `None` when neither header is present or parseable.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let json = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| serde_json::from_str::<Value>(v).ok())
        };
        let app_header = json("x-app-usage");
        let buc_header = json("x-business-use-case-usage");
        if app_header.is_none() && buc_header.is_none() {
            return None;
        }
        let mut app = BTreeMap::new();
        if let Some(v) = &app_header {
            numbers(v, &mut app);
        }
        let mut business_use_case = BTreeMap::new();
        if let Some(Value::Object(by_business)) = &buc_header {
            for entries in by_business.values() {
                match entries {
                    Value::Array(list) => {
                        list.iter().for_each(|e| numbers(e, &mut business_use_case))
                    }
                    other => numbers(other, &mut business_use_case),
                }
            }
        }
        let max_percent = app
            .iter()
            .chain(&business_use_case)
            .filter(|(k, _)| !PERCENT_FIELDS_EXCLUDED.contains(&k.as_str()))
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        let regain_access_minutes = business_use_case
            .get("estimated_time_to_regain_access")
            .filter(|m| **m > 0.0)
            .map(|m| m.ceil() as u64);
        Some(Self {
            app,
            business_use_case,
            max_percent,
            regain_access_minutes,
            observed_at: Utc::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_documented_and_observed_shapes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_volume":7,"cpu_time":3}"#),
        );
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"17841405309211844":[{"type":"instagram","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}]}"#,
            ),
        );
        let usage = RateLimitUsage::from_headers(&headers).unwrap();
        assert_eq!(usage.app["call_volume"], 7.0);
        assert_eq!(usage.max_percent, 100.0);
        assert_eq!(usage.regain_access_minutes, Some(19));
    }

    #[test]
    fn absent_or_garbage_headers_are_tolerated() {
        assert!(RateLimitUsage::from_headers(&HeaderMap::new()).is_none());
        let mut headers = HeaderMap::new();
        headers.insert("x-app-usage", HeaderValue::from_static("not json"));
        assert!(RateLimitUsage::from_headers(&headers).is_none());
    }
}
