//! Where uploaded files live. A trait, so a deployment can put them in object storage; the
//! default keeps them in a directory under the data dir, one file per blob, named by key.

use std::path::PathBuf;

use anyhow::Context;

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()>;
    async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>>;
}

/// Blobs as files in a local directory.
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        // Keys are made by the server (tenant/uuid); refuse anything that could leave the root.
        if key.is_empty()
            || key.contains("..")
            || key.starts_with('/')
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-')
        {
            anyhow::bail!("bad blob key");
        }
        Ok(self.root.join(key))
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.with_context(|| format!("creating {}", parent.display()))?;
        }
        tokio::fs::write(&path, bytes).await.with_context(|| format!("writing {}", path.display()))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.with_context(|| format!("reading {}", path.display()))
    }
}
