//! Service levels (服务级别): the tenant's working calendar and response and resolution
//! targets per priority, which work orders' deadlines are counted in.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{NaiveDate, NaiveTime};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::service::sla::{Hours, SlaPolicy as DomainPolicy, Target, WorkingCalendar as DomainCalendar};
use guanxi_domain::{ErrorCode, FieldError, Invalid};

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::transact;

/// One priority's targets, in working minutes.
#[derive(SimpleObject, InputObject, Clone, Copy, serde::Serialize)]
#[graphql(input_name = "SlaTargetInput")]
pub struct SlaTarget {
    /// From report to acceptance (首次响应).
    pub response_minutes: i64,
    /// From report to completion (解决).
    pub resolution_minutes: i64,
}

impl From<Target> for SlaTarget {
    fn from(t: Target) -> Self {
        Self { response_minutes: t.response_minutes, resolution_minutes: t.resolution_minutes }
    }
}

impl From<SlaTarget> for Target {
    fn from(t: SlaTarget) -> Self {
        Self { response_minutes: t.response_minutes, resolution_minutes: t.resolution_minutes }
    }
}

/// Targets per priority.
#[derive(SimpleObject, InputObject, Clone, Copy, serde::Serialize)]
#[graphql(input_name = "SlaPolicyInput")]
pub struct SlaPolicy {
    pub urgent: SlaTarget,
    pub high: SlaTarget,
    pub normal: SlaTarget,
    pub low: SlaTarget,
}

impl From<&DomainPolicy> for SlaPolicy {
    fn from(p: &DomainPolicy) -> Self {
        Self { urgent: p.urgent.into(), high: p.high.into(), normal: p.normal.into(), low: p.low.into() }
    }
}

impl From<SlaPolicy> for DomainPolicy {
    fn from(p: SlaPolicy) -> Self {
        Self { urgent: p.urgent.into(), high: p.high.into(), normal: p.normal.into(), low: p.low.into() }
    }
}

/// A weekday's working hours, in China's time (HH:MM).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "WorkingDayInput")]
pub struct WorkingDay {
    /// 1 (Monday) to 7 (Sunday).
    pub weekday: i32,
    pub start: String,
    pub end: String,
}

/// The working calendar (工作日历).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "WorkingCalendarInput")]
pub struct WorkingCalendar {
    /// The working weekdays and their hours; a weekday not listed is a day off.
    pub weekly: Vec<WorkingDay>,
    /// Days off on what would be working days (法定节假日).
    pub holidays: Vec<NaiveDate>,
    /// Working days on what would be days off (调休), with Monday's hours.
    pub workdays: Vec<NaiveDate>,
}

impl From<&DomainCalendar> for WorkingCalendar {
    fn from(c: &DomainCalendar) -> Self {
        let weekly = (c.weekly.iter().enumerate())
            .filter_map(|(n, h)| {
                h.map(|h| WorkingDay {
                    weekday: n as i32 + 1,
                    start: h.start.format("%H:%M").to_string(),
                    end: h.end.format("%H:%M").to_string(),
                })
            })
            .collect();
        Self { weekly, holidays: c.holidays.clone(), workdays: c.workdays.clone() }
    }
}

impl WorkingCalendar {
    fn to_domain(&self) -> Result<DomainCalendar, Invalid> {
        let mut invalid = Invalid::default();
        let mut weekly = [None; 7];
        for (n, day) in self.weekly.iter().enumerate() {
            let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
            match (usize::try_from(day.weekday - 1).ok().filter(|d| *d < 7), time(&day.start), time(&day.end)) {
                (Some(d), Some(start), Some(end)) => weekly[d] = Some(Hours { start, end }),
                _ => invalid.push(FieldError::new(
                    format!("calendar.weekly.{n}"),
                    ErrorCode::Invalid,
                    "a weekday from 1 to 7 and times as HH:MM",
                )),
            }
        }
        invalid.into_result()?;
        let calendar = DomainCalendar { weekly, holidays: self.holidays.clone(), workdays: self.workdays.clone() };
        calendar.check().map_err(|e| {
            Invalid(e.0.into_iter().map(|f| FieldError { field: format!("calendar.{}", f.field), ..f }).collect())
        })
    }
}

/// The tenant's service levels.
#[derive(SimpleObject)]
pub struct ServiceLevels {
    pub calendar: WorkingCalendar,
    pub policy: SlaPolicy,
}

#[derive(InputObject)]
pub struct SetServiceLevelsInput {
    pub calendar: WorkingCalendar,
    pub policy: SlaPolicy,
}

#[derive(SimpleObject)]
pub struct ServiceLevelsPayload {
    service_levels: Option<ServiceLevels>,
    user_errors: Vec<UserError>,
}

fn levels(settings: &guanxi_store::platform::tenant::TenantSettings) -> ServiceLevels {
    ServiceLevels { calendar: (&settings.working_calendar).into(), policy: (&settings.sla_policy).into() }
}

#[derive(Default)]
pub struct SlaQuery;

#[Object]
impl SlaQuery {
    /// The working calendar and targets work orders' deadlines are counted in
    /// (`workorder.read` or `settings.manage`).
    async fn service_levels(&self, ctx: &Context<'_>) -> ApiResult<ServiceLevels> {
        let actor = actor(ctx)?;
        if !actor.may(Permission::WorkOrderRead) && !actor.may(Permission::SettingsManage) {
            return Err(ApiError::Forbidden("needs workorder.read or settings.manage".into()));
        }
        let settings = guanxi_store::platform::tenant::settings(state(ctx).db.connection(), actor.tenant_id).await?;
        Ok(levels(&settings))
    }
}

#[derive(Default)]
pub struct SlaMutation;

#[Object]
impl SlaMutation {
    /// Replaces the working calendar and the targets (`settings.manage`). Orders already
    /// taken keep their deadlines.
    async fn set_service_levels(
        &self,
        ctx: &Context<'_>,
        input: SetServiceLevelsInput,
    ) -> ApiResult<ServiceLevelsPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let (calendar, policy) = (input.calendar.to_domain(), DomainPolicy::from(input.policy).check());
        let author = author(ctx, actor);
        let tenant = actor.tenant_id;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let mut invalid = Invalid::default();
                let calendar = calendar.map_err(|e| invalid.0.extend(e.0)).ok();
                let policy = policy
                    .map_err(|e| {
                        invalid
                            .0
                            .extend(e.0.into_iter().map(|f| FieldError { field: format!("policy.{}", f.field), ..f }))
                    })
                    .ok();
                invalid.into_result()?;
                let mut settings = guanxi_store::platform::tenant::settings(tx, tenant).await?;
                settings.working_calendar = calendar.unwrap_or_default();
                settings.sla_policy = policy.unwrap_or_default();
                guanxi_store::platform::tenant::update_settings(tx, &author, &settings).await
            })
        })
        .await?;
        Ok(match result {
            Ok(settings) => ServiceLevelsPayload { service_levels: Some(levels(&settings)), user_errors: vec![] },
            Err(user_errors) => ServiceLevelsPayload { service_levels: None, user_errors },
        })
    }
}
