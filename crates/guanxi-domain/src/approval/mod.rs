//! Approvals (审批流): one engine for every kind of document. `flow` holds what a tenant
//! defines (flows, their conditions and steps) and which flow a submission takes;
//! `engine` holds a submission's steps and tasks and what each action does to them.

pub mod engine;
pub mod flow;
