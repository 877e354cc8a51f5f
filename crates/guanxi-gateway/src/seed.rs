//! The demo tenant: a small Chinese sales company to click through. Demo credentials only.

use anyhow::Context;
use guanxi_domain::access::DepartmentRule;
use guanxi_domain::ids::{DepartmentId, UserId};
use guanxi_domain::org::{Department, Email, Name, TenantSlug, User};
use guanxi_domain::phone::PhoneNumber;
use guanxi_store::Database;
use guanxi_store::audit::Author;
use guanxi_store::department::NewDepartment;
use guanxi_store::user::NewUser;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PASSWORD: &str = "guanxi-demo";

async fn department<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    name: &str,
    parent: DepartmentId,
    sort_order: i32,
) -> anyhow::Result<Department> {
    let input = NewDepartment { name: Name::parse("name", name)?, parent_id: Some(parent), sort_order };
    Ok(guanxi_store::department::create(tx, author, DepartmentRule::All, input).await?)
}

#[allow(clippy::too_many_arguments)]
async fn user<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    password_hash: &str,
    email: &str,
    name: &str,
    phone: &str,
    department: DepartmentId,
    manager: Option<UserId>,
    role: guanxi_domain::ids::RoleId,
) -> anyhow::Result<User> {
    let input = NewUser {
        email: Email::parse("email", email)?,
        display_name: Name::parse("displayName", name)?,
        phone: Some(PhoneNumber::parse("phone", phone)?),
        password_hash: password_hash.to_owned(),
        department_id: department,
        manager_id: manager,
        role_id: role,
    };
    Ok(guanxi_store::user::create(tx, author, DepartmentRule::All, input).await?)
}

/// Creates the `demo` tenant unless it exists. Returns whether it was created.
pub async fn seed_demo(db: &Database) -> anyhow::Result<bool> {
    if guanxi_store::tenant::find_by_slug(db.connection(), DEMO_TENANT).await?.is_some() {
        return Ok(false);
    }
    let password_hash = crate::auth::hash_password(DEMO_PASSWORD.to_owned()).await?;
    let tx = db.begin_write().await?;
    let created =
        guanxi_store::tenant::create(&tx, &TenantSlug::parse("tenant", DEMO_TENANT)?, "关系演示科技有限公司").await?;
    let author = Author::system(created.id());
    let role = |key: &str| created.role(key).map(|r| r.id).with_context(|| format!("built-in role {key}"));
    let hq = created.root.id;
    let east = department(&tx, &author, "华东销售部", hq, 1).await?;
    let east_1 = department(&tx, &author, "华东一组", east.id, 1).await?;
    let east_2 = department(&tx, &author, "华东二组", east.id, 2).await?;
    let north = department(&tx, &author, "华北销售部", hq, 2).await?;
    department(&tx, &author, "华北一组", north.id, 1).await?;
    let service = department(&tx, &author, "客户服务部", hq, 3).await?;
    let h = password_hash.as_str();
    let admin = user(&tx, &author, h, "admin@demo.local", "张伟", "13800000001", hq, None, role("admin")?).await?;
    let manager = user(
        &tx,
        &author,
        h,
        "manager@demo.local",
        "李娜",
        "13800000002",
        east.id,
        Some(admin.id),
        role("sales_manager")?,
    )
    .await?;
    user(&tx, &author, h, "rep1@demo.local", "王磊", "13800000003", east_1.id, Some(manager.id), role("sales_rep")?)
        .await?;
    user(&tx, &author, h, "rep2@demo.local", "刘洋", "13800000004", east_2.id, Some(manager.id), role("sales_rep")?)
        .await?;
    user(&tx, &author, h, "rep3@demo.local", "陈静", "13800000005", north.id, Some(admin.id), role("sales_rep")?)
        .await?;
    let agent = user(
        &tx,
        &author,
        h,
        "service@demo.local",
        "杨帆",
        "13800000006",
        service.id,
        Some(admin.id),
        role("service_agent")?,
    )
    .await?;
    user(&tx, &author, h, "tech@demo.local", "赵强", "13800000007", service.id, Some(agent.id), role("technician")?)
        .await?;
    tx.commit().await?;
    Ok(true)
}
