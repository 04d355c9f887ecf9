/*
 * store.c - the inventory database: where it is, opening, migrations, transactions.
 * By default one SQLite file, inventory.db, in the state directory; WAL so readers
 * never wait for writers; foreign keys on; a busy timeout so concurrent xenprov
 * commands queue rather than fail; synchronous=FULL so a committed record survives a
 * power cut. Or a PostgreSQL database (postgresql://...: --inventory,
 * $XENPROV_INVENTORY, STATE/inventory-url), through db.h as every record file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inventory/store-internal.h"

/* domain_disks' columns but its role (migrations 5 and 7 make the table; the texts
 * each step runs stay as they were released). */
#define DOMAIN_DISKS_KEY                                                                           \
	"  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"     \
	"  vdev TEXT NOT NULL,"
#define DOMAIN_DISKS_REST                                                                          \
	"  storage TEXT NOT NULL,"                                                                 \
	"  path TEXT NOT NULL,"                                                                    \
	"  size INTEGER NOT NULL,"                                                                 \
	"  fs TEXT NOT NULL,"                                                                      \
	"  uuid TEXT,"                                                                             \
	"  mount TEXT,"                                                                            \
	"  PRIMARY KEY (domain, vdev));"

/* Schema migrations, applied in order; user_version is the number applied. Never edit
 * a released step: add a new one. */
static const char *const migrations[] = {
    /* 1: profiles, domains, deploys */
    "CREATE TABLE profiles ("
    "  name TEXT PRIMARY KEY,"
    "  parent TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE profile_settings ("
    "  profile TEXT NOT NULL REFERENCES profiles(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (profile, key));"
    "CREATE TABLE deploys ("
    "  id INTEGER PRIMARY KEY,"
    "  started INTEGER NOT NULL,"
    "  finished INTEGER,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'rolled-back')),"
    "  request TEXT NOT NULL);"
    "CREATE TABLE domains ("
    "  name TEXT PRIMARY KEY,"
    "  profile TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'deleting', 'failed')),"
    "  mac TEXT UNIQUE,"
    "  ip TEXT UNIQUE,"
    "  storage TEXT,"
    "  disk_path TEXT,"
    "  config_path TEXT,"
    "  settings TEXT NOT NULL DEFAULT '{}',"
    "  deploy_id INTEGER REFERENCES deploys(id) ON DELETE SET NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE INDEX domains_deploy ON domains(deploy_id);"
    "CREATE TABLE artifacts ("
    "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  PRIMARY KEY (domain, kind));",
    /* 2: the boot server: distros, systems, its settings, DHCP leases. IF NOT EXISTS:
     * a database whose user_version was set back by hand migrates again cleanly. */
    "CREATE TABLE IF NOT EXISTS distros ("
    "  name TEXT PRIMARY KEY,"
    "  kernel TEXT NOT NULL,"
    "  initrd TEXT,"
    "  arch TEXT NOT NULL DEFAULT 'x86_64',"
    "  kernel_options TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS systems ("
    "  name TEXT PRIMARY KEY,"
    "  mac TEXT UNIQUE NOT NULL,"
    "  ip TEXT UNIQUE,"
    "  profile TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  distro TEXT REFERENCES distros(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  hostname TEXT,"
    "  netboot INTEGER NOT NULL DEFAULT 1 CHECK (netboot IN (0, 1)),"
    "  kernel_options TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  CHECK ((profile IS NULL) <> (distro IS NULL)));"
    "CREATE INDEX IF NOT EXISTS systems_profile ON systems(profile);"
    "CREATE INDEX IF NOT EXISTS systems_distro ON systems(distro);"
    "CREATE TABLE IF NOT EXISTS server_settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    /* ip: the IPv4 address in host order as an integer, so that ranges are
     * comparisons; client: the DHCP client identifier (RFC 2132 9.14) or the
     * hardware type and address (RFC 2131 4.2) */
    "CREATE TABLE IF NOT EXISTS leases ("
    "  ip INTEGER PRIMARY KEY,"
    "  client BLOB NOT NULL,"
    "  mac TEXT,"
    "  hostname TEXT,"
    "  state TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS leases_client ON leases(client);",
    /* 3: the distro store (distro-files.c): the digests of a distro's files in
     * STATE/distro-files. A distro without a row (one made before) is not served until
     * its files are imported. */
    "CREATE TABLE IF NOT EXISTS distro_files ("
    "  distro TEXT PRIMARY KEY REFERENCES distros(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  kernel_sha256 TEXT NOT NULL,"
    "  initrd_sha256 TEXT);",
    /* 4: what a deploy was for and what it did, for `deploy list` and `show`: its
     * profile, the guests it was asked for and the counts of its end (NULL for a run
     * killed, or recorded before). A table of its own, so that the step runs again
     * cleanly as the others do (SQLite has no ADD COLUMN IF NOT EXISTS); a run of
     * before gets the profile its guests still carry, where any are left. */
    "CREATE TABLE IF NOT EXISTS deploy_summary ("
    "  deploy INTEGER PRIMARY KEY REFERENCES deploys(id) ON DELETE CASCADE,"
    "  profile TEXT,"
    "  total INTEGER,"
    "  created INTEGER,"
    "  skipped INTEGER,"
    "  failed INTEGER,"
    "  cleaned INTEGER);"
    "INSERT OR IGNORE INTO deploy_summary (deploy, profile)"
    "  SELECT id, (SELECT min(profile) FROM domains WHERE deploy_id = deploys.id)"
    "  FROM deploys;",
    /* 5: a guest's further disks (data disks, a swap volume) and NICs. A further NIC's
     * MAC and IP are as unique as a domain's own: the triggers keep either table from
     * taking what the other holds (the UNIQUE columns keep each table's own). */
    "CREATE TABLE IF NOT EXISTS domain_disks ("
    DOMAIN_DISKS_KEY
    "  role TEXT NOT NULL CHECK (role IN ('data', 'swap')),"
    DOMAIN_DISKS_REST
    "CREATE TABLE IF NOT EXISTS domain_nics ("
    "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  devid INTEGER NOT NULL CHECK (devid > 0),"
    "  mac TEXT UNIQUE NOT NULL,"
    "  ip TEXT UNIQUE,"
    "  prefix INTEGER NOT NULL DEFAULT 0,"
    "  bridge TEXT NOT NULL,"
    "  gateway TEXT,"
    "  PRIMARY KEY (domain, devid));"
    "CREATE TRIGGER IF NOT EXISTS domain_nics_unique BEFORE INSERT ON domain_nics"
    "  WHEN EXISTS (SELECT 1 FROM domains WHERE mac = NEW.mac OR ip = NEW.ip)"
    "  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: domains.mac or domains.ip'); END;"
    "CREATE TRIGGER IF NOT EXISTS domains_nics_unique BEFORE INSERT ON domains"
    "  WHEN EXISTS (SELECT 1 FROM domain_nics WHERE mac = NEW.mac OR ip = NEW.ip)"
    "  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: domain_nics.mac or "
    "domain_nics.ip'); END;",
    /* 6: distro trees (distro-trees.c): what `xenprov import` made reachable over HTTP
     * for a distro, and for a tree served from inside an ISO image, where each of its
     * files lies in the image and the image's identity when it was read. */
    "CREATE TABLE IF NOT EXISTS distro_trees ("
    "  distro TEXT PRIMARY KEY REFERENCES distros(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  mode TEXT NOT NULL CHECK (mode IN ('copy', 'iso', 'external')),"
    "  source TEXT NOT NULL,"
    "  url TEXT,"
    "  signature TEXT NOT NULL,"
    "  family TEXT NOT NULL,"
    "  version TEXT,"
    "  iso_size INTEGER,"
    "  iso_ino INTEGER,"
    "  iso_mtime INTEGER);"
    "CREATE TABLE IF NOT EXISTS distro_tree_files ("
    "  distro TEXT NOT NULL REFERENCES distro_trees(distro) ON DELETE CASCADE"
    "    ON UPDATE CASCADE,"
    "  path TEXT NOT NULL,"
    "  off INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  PRIMARY KEY (distro, path)) WITHOUT ROWID;",
    /* 7: autoinstall templates (templates.c), a distro's OS family as the operator gave
     * it (what its installer reads: distro.c; an import's is distro_trees.family), the
     * template a system names itself (system.c), each a table
     * of its own; and a guest's further disk may be its cloud-init seed volume: the
     * role's CHECK cannot be altered in place, so domain_disks is made again (SQLite's
     * documented way: a new table, the rows copied, the old dropped, the new renamed;
     * no other table refers to it). Runs again cleanly on a database whose version was
     * set back. */
    "CREATE TABLE IF NOT EXISTS templates ("
    "  name TEXT PRIMARY KEY,"
    "  content TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS distro_os ("
    "  distro TEXT PRIMARY KEY REFERENCES distros(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  os TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS system_templates ("
    "  system TEXT PRIMARY KEY REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  template TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS system_templates_template ON system_templates(template);"
    "CREATE TABLE domain_disks_v7 ("
    DOMAIN_DISKS_KEY
    "  role TEXT NOT NULL CHECK (role IN ('data', 'swap', 'seed')),"
    DOMAIN_DISKS_REST
    "INSERT INTO domain_disks_v7 SELECT domain, vdev, role, storage, path, size, fs, uuid,"
    "  mount FROM domain_disks;"
    "DROP TABLE domain_disks;"
    "ALTER TABLE domain_disks_v7 RENAME TO domain_disks;",
    /* 8: what `xenprov sync` wrote where (sync-state.c). sync_clock.seq counts the
     * changes a sync renders (triggers, so that every writer counts, whatever path it
     * takes); sync_changed holds, per system name, the count of its last change
     * (removals and renames too, and of the template it names itself); world (9) is
     * the count of the last change that is not one system's. A target remembers the
     * count it was synced at, and the files it holds with their digests. */
    "CREATE TABLE IF NOT EXISTS sync_clock ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL,"
    "  world INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO sync_clock VALUES (1, 1, 1);"
    "CREATE TABLE IF NOT EXISTS sync_changed ("
    "  system TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sync_changed_seq ON sync_changed(seq);"
    "CREATE TABLE IF NOT EXISTS sync_targets ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  path2 TEXT,"
    "  subnet TEXT,"
    "  options TEXT NOT NULL DEFAULT '',"
    "  seq INTEGER NOT NULL DEFAULT 0,"
    "  synced INTEGER,"
    "  UNIQUE (kind, path));"
    "CREATE TABLE IF NOT EXISTS sync_files ("
    "  target INTEGER NOT NULL REFERENCES sync_targets(id) ON DELETE CASCADE,"
    "  path TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  stamp TEXT,"
    "  PRIMARY KEY (target, path));"
    "CREATE INDEX IF NOT EXISTS sync_files_owner ON sync_files(target, owner);"
    "CREATE TRIGGER IF NOT EXISTS sync_systems_insert AFTER INSERT ON systems BEGIN"
    "  UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT NEW.name, seq FROM sync_clock; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_systems_update AFTER UPDATE ON systems BEGIN"
    "  UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT OLD.name, seq FROM sync_clock;"
    "  INSERT OR REPLACE INTO sync_changed SELECT NEW.name, seq FROM sync_clock; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_systems_delete AFTER DELETE ON systems BEGIN"
    "  UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT OLD.name, seq FROM sync_clock; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_system_templates_insert AFTER INSERT ON system_templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT NEW.system, seq FROM sync_clock; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_system_templates_update AFTER UPDATE ON system_templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT OLD.system, seq FROM sync_clock;"
    "  INSERT OR REPLACE INTO sync_changed SELECT NEW.system, seq FROM sync_clock; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_system_templates_delete AFTER DELETE ON system_templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1;"
    "  INSERT OR REPLACE INTO sync_changed SELECT OLD.system, seq FROM sync_clock; END;",
    /* 9: the rest of 8 (one string each, as C's limits go): a change that is not one
     * system's moves world, after which a sync renders everything again */
    "CREATE TRIGGER IF NOT EXISTS sync_distros_insert AFTER INSERT ON distros"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distros_update AFTER UPDATE ON distros"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distros_delete AFTER DELETE ON distros"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_files_insert AFTER INSERT ON distro_files"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_files_update AFTER UPDATE ON distro_files"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_files_delete AFTER DELETE ON distro_files"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profiles_insert AFTER INSERT ON profiles"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profiles_update AFTER UPDATE ON profiles"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profiles_delete AFTER DELETE ON profiles"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profile_settings_insert AFTER INSERT ON profile_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profile_settings_update AFTER UPDATE ON profile_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_profile_settings_delete AFTER DELETE ON profile_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_server_settings_insert AFTER INSERT ON server_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_server_settings_update AFTER UPDATE ON server_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_server_settings_delete AFTER DELETE ON server_settings"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_templates_insert AFTER INSERT ON templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_templates_update AFTER UPDATE ON templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_templates_delete AFTER DELETE ON templates"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_os_insert AFTER INSERT ON distro_os"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_os_update AFTER UPDATE ON distro_os"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_os_delete AFTER DELETE ON distro_os"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_trees_insert AFTER INSERT ON distro_trees"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_trees_update AFTER UPDATE ON distro_trees"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS sync_distro_trees_delete AFTER DELETE ON distro_trees"
    "  BEGIN UPDATE sync_clock SET seq = seq + 1, world = seq + 1; END;",
    /* 10: a TFTP target's HTTP base for the autoinstall argument, as the sync that
     * named it gave it ('': none; no row: derived from the settings). A table of its
     * own, as 4's (no ADD COLUMN IF NOT EXISTS) */
    "CREATE TABLE IF NOT EXISTS sync_target_http ("
    "  target INTEGER PRIMARY KEY REFERENCES sync_targets(id) ON DELETE CASCADE,"
    "  http_base TEXT NOT NULL);",
    /* 11: the captured image version each guest's disk holds (issue 16: made from, or last
     * updated to by `image update`): a table of its own, not a column, so that the
     * step runs again cleanly on a database whose version was set back */
    "CREATE TABLE IF NOT EXISTS domain_images ("
    "  domain TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  image TEXT NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  updated INTEGER NOT NULL"
    ");",
    /* 12: autoinstall marks (install.c): a system to be installed on its next network
     * boot, with the SHA-256 (hex) of the token its last rendered boot config carries
     * (NULL: none rendered yet); and the events of its installs, the last install's
     * being those since its mark was set (install >= the mark's id). */
    "CREATE TABLE IF NOT EXISTS system_installs ("
    "  system TEXT PRIMARY KEY REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  id INTEGER NOT NULL,"
    "  token_hash TEXT,"
    "  marked INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS install_events ("
    "  system TEXT NOT NULL REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  install INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('progress', 'failure', 'success')),"
    "  step TEXT NOT NULL,"
    "  message TEXT);"
    "CREATE INDEX IF NOT EXISTS install_events_system ON install_events(system, install);",
    /* 13: each install's attempt (install.c): a token is no longer issued per rendering
     * but derived, HMAC-SHA256 under the server's key (STATE/install-key, outside the
     * database) of the system, the install's id, this row's nonce and attempt, so that
     * every rendering of one attempt carries the same token and the inventory holds
     * nothing that is one. The nonce (random, new with each install) keeps a system
     * removed and added again from its predecessor's tokens; token_hash is no longer
     * written. Marks made before get a row (their old tokens die). */
    "CREATE TABLE IF NOT EXISTS install_attempts ("
    "  system TEXT PRIMARY KEY REFERENCES system_installs(system)"
    "    ON DELETE CASCADE ON UPDATE CASCADE,"
    "  nonce TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL CHECK (attempt > 0));"
    "INSERT OR IGNORE INTO install_attempts (system, nonce, attempt)"
    "  SELECT system, lower(hex(randomblob(16))), 1 FROM system_installs;"
    "UPDATE system_installs SET token_hash = NULL;",
    /* 14: the dom0 that made each domain (its host name), for inventories that many
     * dom0s share (issue 20). A table of its own beside domains, as domain_images:
     * SQLite cannot add a column IF NOT EXISTS, and every step re-runs cleanly. */
    "CREATE TABLE IF NOT EXISTS domain_hosts ("
    "  domain TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  dom0 TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS domain_hosts_dom0 ON domain_hosts(dom0);",
};

/* The same steps in PostgreSQL's dialect, entry N of this list being step N + 1 as in
 * migrations[] (a step never edited once released, in either dialect). What differs:
 * integers are BIGINT (addresses in host order, sizes, times past 2038 do not fit
 * INTEGER's 32 bits); a row id SQLite gives an INTEGER PRIMARY KEY is an identity
 * column; BLOB is BYTEA; INSERT OR IGNORE is ON CONFLICT DO NOTHING; a trigger runs a
 * PL/pgSQL function; a CHECK is altered in place rather than by SQLite's table copy.
 * NULL: the SQLite text serves as it is. */
static const char *const migrations_pgsql[] = {
    /* 1 */
    "CREATE TABLE IF NOT EXISTS profiles ("
    "  name TEXT PRIMARY KEY,"
    "  parent TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS profile_settings ("
    "  profile TEXT NOT NULL REFERENCES profiles(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  seq BIGINT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (profile, key));"
    "CREATE TABLE IF NOT EXISTS deploys ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  started BIGINT NOT NULL,"
    "  finished BIGINT,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'rolled-back')),"
    "  request TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS domains ("
    "  name TEXT PRIMARY KEY,"
    "  profile TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'deleting', 'failed')),"
    "  mac TEXT UNIQUE,"
    "  ip TEXT UNIQUE,"
    "  storage TEXT,"
    "  disk_path TEXT,"
    "  config_path TEXT,"
    "  settings TEXT NOT NULL DEFAULT '{}',"
    "  deploy_id BIGINT REFERENCES deploys(id) ON DELETE SET NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS domains_deploy ON domains(deploy_id);"
    "CREATE TABLE IF NOT EXISTS artifacts ("
    "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  PRIMARY KEY (domain, kind));",
    /* 2 */
    "CREATE TABLE IF NOT EXISTS distros ("
    "  name TEXT PRIMARY KEY,"
    "  kernel TEXT NOT NULL,"
    "  initrd TEXT,"
    "  arch TEXT NOT NULL DEFAULT 'x86_64',"
    "  kernel_options TEXT,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS systems ("
    "  name TEXT PRIMARY KEY,"
    "  mac TEXT UNIQUE NOT NULL,"
    "  ip TEXT UNIQUE,"
    "  profile TEXT REFERENCES profiles(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  distro TEXT REFERENCES distros(name) ON DELETE RESTRICT ON UPDATE CASCADE,"
    "  hostname TEXT,"
    "  netboot BIGINT NOT NULL DEFAULT 1 CHECK (netboot IN (0, 1)),"
    "  kernel_options TEXT,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL,"
    "  CHECK ((profile IS NULL) <> (distro IS NULL)));"
    "CREATE INDEX IF NOT EXISTS systems_profile ON systems(profile);"
    "CREATE INDEX IF NOT EXISTS systems_distro ON systems(distro);"
    "CREATE TABLE IF NOT EXISTS server_settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS leases ("
    "  ip BIGINT PRIMARY KEY,"
    "  client BYTEA NOT NULL,"
    "  mac TEXT,"
    "  hostname TEXT,"
    "  state TEXT NOT NULL,"
    "  expires BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS leases_client ON leases(client);",
    /* 3 */
    NULL,
    /* 4 */
    "CREATE TABLE IF NOT EXISTS deploy_summary ("
    "  deploy BIGINT PRIMARY KEY REFERENCES deploys(id) ON DELETE CASCADE,"
    "  profile TEXT,"
    "  total BIGINT,"
    "  created BIGINT,"
    "  skipped BIGINT,"
    "  failed BIGINT,"
    "  cleaned BIGINT);"
    "INSERT INTO deploy_summary (deploy, profile)"
    "  SELECT id, (SELECT min(profile) FROM domains WHERE deploy_id = deploys.id)"
    "  FROM deploys ON CONFLICT DO NOTHING;",
    /* 5: the two triggers raise unique_violation, as the UNIQUE columns would */
    "CREATE TABLE IF NOT EXISTS domain_disks ("
    "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  vdev TEXT NOT NULL,"
    "  role TEXT NOT NULL CONSTRAINT domain_disks_role_check"
    "    CHECK (role IN ('data', 'swap')),"
    "  storage TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  size BIGINT NOT NULL,"
    "  fs TEXT NOT NULL,"
    "  uuid TEXT,"
    "  mount TEXT,"
    "  PRIMARY KEY (domain, vdev));"
    "CREATE TABLE IF NOT EXISTS domain_nics ("
    "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  devid BIGINT NOT NULL CHECK (devid > 0),"
    "  mac TEXT UNIQUE NOT NULL,"
    "  ip TEXT UNIQUE,"
    "  prefix BIGINT NOT NULL DEFAULT 0,"
    "  bridge TEXT NOT NULL,"
    "  gateway TEXT,"
    "  PRIMARY KEY (domain, devid));"
    "CREATE OR REPLACE FUNCTION xp_domain_nics_unique() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF EXISTS (SELECT 1 FROM domains WHERE mac = NEW.mac OR ip = NEW.ip) THEN"
    "   RAISE unique_violation USING"
    "    MESSAGE = 'UNIQUE constraint failed: domains.mac or domains.ip';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE OR REPLACE FUNCTION xp_domains_nics_unique() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF EXISTS (SELECT 1 FROM domain_nics WHERE mac = NEW.mac OR ip = NEW.ip) THEN"
    "   RAISE unique_violation USING"
    "    MESSAGE = 'UNIQUE constraint failed: domain_nics.mac or domain_nics.ip';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE OR REPLACE TRIGGER domain_nics_unique BEFORE INSERT ON domain_nics"
    "  FOR EACH ROW EXECUTE FUNCTION xp_domain_nics_unique();"
    "CREATE OR REPLACE TRIGGER domains_nics_unique BEFORE INSERT ON domains"
    "  FOR EACH ROW EXECUTE FUNCTION xp_domains_nics_unique();",
    /* 6 */
    "CREATE TABLE IF NOT EXISTS distro_trees ("
    "  distro TEXT PRIMARY KEY REFERENCES distros(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  mode TEXT NOT NULL CHECK (mode IN ('copy', 'iso', 'external')),"
    "  source TEXT NOT NULL,"
    "  url TEXT,"
    "  signature TEXT NOT NULL,"
    "  family TEXT NOT NULL,"
    "  version TEXT,"
    "  iso_size BIGINT,"
    "  iso_ino BIGINT,"
    "  iso_mtime BIGINT);"
    "CREATE TABLE IF NOT EXISTS distro_tree_files ("
    "  distro TEXT NOT NULL REFERENCES distro_trees(distro) ON DELETE CASCADE"
    "    ON UPDATE CASCADE,"
    "  path TEXT NOT NULL,"
    "  off BIGINT NOT NULL,"
    "  size BIGINT NOT NULL,"
    "  PRIMARY KEY (distro, path));",
    /* 7 */
    "CREATE TABLE IF NOT EXISTS templates ("
    "  name TEXT PRIMARY KEY,"
    "  content TEXT NOT NULL,"
    "  created BIGINT NOT NULL,"
    "  updated BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS distro_os ("
    "  distro TEXT PRIMARY KEY REFERENCES distros(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  os TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS system_templates ("
    "  system TEXT PRIMARY KEY REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  template TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS system_templates_template ON system_templates(template);"
    "ALTER TABLE domain_disks DROP CONSTRAINT IF EXISTS domain_disks_role_check,"
    "  ADD CONSTRAINT domain_disks_role_check CHECK (role IN ('data', 'swap', 'seed'));",
    /* 8: one function per kind of change; the system's name is the column the
     * trigger names (TG_ARGV[0]) */
    "CREATE TABLE IF NOT EXISTS sync_clock ("
    "  id BIGINT PRIMARY KEY CHECK (id = 1),"
    "  seq BIGINT NOT NULL,"
    "  world BIGINT NOT NULL);"
    "INSERT INTO sync_clock VALUES (1, 1, 1) ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS sync_changed ("
    "  system TEXT PRIMARY KEY,"
    "  seq BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sync_changed_seq ON sync_changed(seq);"
    "CREATE TABLE IF NOT EXISTS sync_targets ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  path2 TEXT,"
    "  subnet TEXT,"
    "  options TEXT NOT NULL DEFAULT '',"
    "  seq BIGINT NOT NULL DEFAULT 0,"
    "  synced BIGINT,"
    "  UNIQUE (kind, path));"
    "CREATE TABLE IF NOT EXISTS sync_files ("
    "  target BIGINT NOT NULL REFERENCES sync_targets(id) ON DELETE CASCADE,"
    "  path TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  stamp TEXT,"
    "  PRIMARY KEY (target, path));"
    "CREATE INDEX IF NOT EXISTS sync_files_owner ON sync_files(target, owner);"
    "CREATE OR REPLACE FUNCTION xp_sync_system() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE s BIGINT;"
    " BEGIN"
    "  UPDATE sync_clock SET seq = seq + 1 RETURNING seq INTO s;"
    "  IF TG_OP <> 'INSERT' THEN"
    "   INSERT INTO sync_changed VALUES (to_jsonb(OLD) ->> TG_ARGV[0], s)"
    "    ON CONFLICT (system) DO UPDATE SET seq = excluded.seq;"
    "  END IF;"
    "  IF TG_OP <> 'DELETE' THEN"
    "   INSERT INTO sync_changed VALUES (to_jsonb(NEW) ->> TG_ARGV[0], s)"
    "    ON CONFLICT (system) DO UPDATE SET seq = excluded.seq;"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE OR REPLACE TRIGGER sync_systems AFTER INSERT OR UPDATE OR DELETE ON systems"
    "  FOR EACH ROW EXECUTE FUNCTION xp_sync_system('name');"
    "CREATE OR REPLACE TRIGGER sync_system_templates AFTER INSERT OR UPDATE OR DELETE"
    "  ON system_templates FOR EACH ROW EXECUTE FUNCTION xp_sync_system('system');",
    /* 9 */
    "CREATE OR REPLACE FUNCTION xp_sync_world() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  UPDATE sync_clock SET seq = seq + 1, world = seq + 1;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE OR REPLACE TRIGGER sync_distros AFTER INSERT OR UPDATE OR DELETE ON distros"
    "  FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_distro_files AFTER INSERT OR UPDATE OR DELETE"
    "  ON distro_files FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_profiles AFTER INSERT OR UPDATE OR DELETE ON profiles"
    "  FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_profile_settings AFTER INSERT OR UPDATE OR DELETE"
    "  ON profile_settings FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_server_settings AFTER INSERT OR UPDATE OR DELETE"
    "  ON server_settings FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_templates AFTER INSERT OR UPDATE OR DELETE ON templates"
    "  FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_distro_os AFTER INSERT OR UPDATE OR DELETE ON distro_os"
    "  FOR EACH ROW EXECUTE FUNCTION xp_sync_world();"
    "CREATE OR REPLACE TRIGGER sync_distro_trees AFTER INSERT OR UPDATE OR DELETE"
    "  ON distro_trees FOR EACH ROW EXECUTE FUNCTION xp_sync_world();",
    /* 10 */
    "CREATE TABLE IF NOT EXISTS sync_target_http ("
    "  target BIGINT PRIMARY KEY REFERENCES sync_targets(id) ON DELETE CASCADE,"
    "  http_base TEXT NOT NULL);",
    /* 11 */
    "CREATE TABLE IF NOT EXISTS domain_images ("
    "  domain TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  image TEXT NOT NULL,"
    "  version BIGINT NOT NULL CHECK (version > 0),"
    "  updated BIGINT NOT NULL);",
    /* 12 */
    "CREATE TABLE IF NOT EXISTS system_installs ("
    "  system TEXT PRIMARY KEY REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  id BIGINT NOT NULL,"
    "  token_hash TEXT,"
    "  marked BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS install_events ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," /* SQLite's rowid: their order */
    "  system TEXT NOT NULL REFERENCES systems(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  install BIGINT NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('progress', 'failure', 'success')),"
    "  step TEXT NOT NULL,"
    "  message TEXT);"
    "CREATE INDEX IF NOT EXISTS install_events_system ON install_events(system, install);",
    /* 13: the nonce from gen_random_uuid (122 random bits, 32 hex digits without its
     * dashes) where SQLite has randomblob */
    "CREATE TABLE IF NOT EXISTS install_attempts ("
    "  system TEXT PRIMARY KEY REFERENCES system_installs(system)"
    "    ON DELETE CASCADE ON UPDATE CASCADE,"
    "  nonce TEXT NOT NULL,"
    "  attempt BIGINT NOT NULL CHECK (attempt > 0));"
    "INSERT INTO install_attempts (system, nonce, attempt)"
    "  SELECT system, replace(gen_random_uuid()::text, '-', ''), 1 FROM system_installs"
    "  ON CONFLICT DO NOTHING;"
    "UPDATE system_installs SET token_hash = NULL;",
    /* 14 */
    NULL,
};

_Static_assert(sizeof(migrations_pgsql) == sizeof(migrations),
	       "each migration has its PostgreSQL entry");

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* A PostgreSQL inventory's writers take this advisory lock for their transaction
 * (pg_advisory_xact_lock), as SQLite's BEGIN IMMEDIATE takes its one write lock: the
 * record files read, check and then write within a transaction, and count on no other
 * writer in between. ('xenp') */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(2020896368)"

int xp__inv_err(struct xp_inv *inv, int rc)
{
	snprintf(inv->err, sizeof(inv->err), "%s", xp__db_errmsg(inv->db));
	return rc < 0 ? rc : -EIO;
}

int xp__inv_exec(struct xp_inv *inv, const char *sql)
{
	int r = xp__db_exec(inv->db, sql);
	return r < 0 ? xp__inv_err(inv, r) : 0;
}

int xp__inv_prepare(struct xp_inv *inv, const char *sql, struct xp_db_stmt **st)
{
	int r = xp__db_prepare(inv->db, sql, st);
	return r < 0 ? xp__inv_err(inv, r) : 0;
}

int xp_state_dir_default(char **out)
{
	const char *e = getenv("XENPROV_STATE_DIR");
	int n;
	if (e && *e)
		n = asprintf(out, "%s", e);
	else if (geteuid() == 0)
		n = asprintf(out, "/var/lib/xenprov");
	else if ((e = getenv("XDG_STATE_HOME")) && *e)
		n = asprintf(out, "%s/xenprov", e);
	else if ((e = getenv("HOME")) && *e)
		n = asprintf(out, "%s/.local/state/xenprov", e);
	else
		return -ENOENT;
	return n < 0 ? -ENOMEM : 0;
}

/* The schema version: SQLite's PRAGMA user_version; in PostgreSQL, table
 * xenprov_schema's one row (0 while the table is not there). */
static int user_version(struct xp_inv *inv, int *version)
{
	*version = 0;
	bool pg = xp__db_dialect(inv->db) == XP_DB_PGSQL;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(
	    inv, pg ? "SELECT to_regclass('xenprov_schema') IS NOT NULL" : "PRAGMA user_version",
	    &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	int v = rc == XP_DB_ROW ? xp__db_column_int(st, 0) : 0;
	if (rc != XP_DB_ROW)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0 || !pg) {
		*version = v;
		return r;
	}
	if (!v) /* no table: a new database */
		return 0;
	if ((r = xp__inv_prepare(inv, "SELECT max(version) FROM xenprov_schema", &st)) < 0)
		return r;
	rc = xp__db_step(st);
	*version = rc == XP_DB_ROW ? xp__db_column_int(st, 0) : 0;
	if (rc != XP_DB_ROW)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

static int set_version(struct xp_inv *inv, int v)
{
	char sql[160];
	if (xp__db_dialect(inv->db) == XP_DB_PGSQL)
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS xenprov_schema (version BIGINT NOT NULL);"
			 "DELETE FROM xenprov_schema; INSERT INTO xenprov_schema VALUES (%d)",
			 v);
	else
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return xp__inv_exec(inv, sql);
}

static int too_new(struct xp_inv *inv, int version)
{
	snprintf(inv->err, sizeof(inv->err),
		 "the inventory has schema version %d, newer than this xenprov knows (%d)",
		 version, NMIGRATIONS);
	return -EPROTO;
}

static int migrate(struct xp_inv *inv)
{
	/* the common case, an up-to-date schema, takes no write lock: every command opens
	 * the inventory, and they must not queue behind each other just for that */
	int version;
	int r = user_version(inv, &version);
	if (r < 0)
		return r;
	if (version > NMIGRATIONS)
		return too_new(inv, version);
	if (version == NMIGRATIONS) {
		inv->version = version;
		return 0;
	}
	r = xp__inv_exec(inv, xp__db_sql(inv->db, "BEGIN IMMEDIATE", "BEGIN; " PG_WRITE_LOCK));
	if (r < 0)
		return r;
	/* again under the lock: another process may have migrated meanwhile */
	r = user_version(inv, &version);
	if (r < 0)
		goto fail;
	if (version > NMIGRATIONS) {
		r = too_new(inv, version);
		goto fail;
	}
	for (int v = version; v < NMIGRATIONS; v++) {
		r = xp__inv_exec(inv, xp__db_sql(inv->db, migrations[v], migrations_pgsql[v]));
		if (r < 0)
			goto fail;
		if ((r = set_version(inv, v + 1)) < 0)
			goto fail;
	}
	r = xp__inv_exec(inv, "COMMIT");
	if (r < 0)
		goto fail;
	inv->version = NMIGRATIONS;
	return 0;
fail:
	xp__db_exec(inv->db, "ROLLBACK");
	return r;
}

/* inventory.db holds password hashes: it is made 0600 before SQLite first opens it,
 * whatever the umask or the mode of a state directory that already exists. SQLite's
 * unix VFS gives the -wal, -shm and -journal files the database's own mode, so they
 * follow. Files an older xenprov left readable by others are tightened here (by their
 * owner or root; anyone else cannot, and is not the one to fix it).
 *
 * Existing files are changed by path, never opened: this process may already hold
 * SQLite's locks on them through another connection (the boot server has three), and
 * closing any descriptor of a file drops all of the process's fcntl(2) locks on it. */
static void private_files(const char *db)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
		if (i == 0) { /* a new database: nobody can hold a lock on it yet */
			int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0) {
				close(fd);
				continue;
			}
		}
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
			(void)chmod(path, st.st_mode & 0600);
	}
}

/* The location in STATE/inventory-url (its first line, trailing blanks dropped), a
 * heap string; *out NULL when there is no such file. 0 or -errno. */
static int state_location(const char *dir, char **out)
{
	*out = NULL;
	char path[4200];
	snprintf(path, sizeof(path), "%s/" XP_INV_URL_FILE, dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[4096];
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!got)
		return 0;
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	return (*out = strdup(line)) ? 0 : -ENOMEM;
}

static void why_set(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	if (!why || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

bool xp_inv_location_pgsql(const char *location)
{
	return location && (strncmp(location, "postgresql://", 13) == 0 ||
			    strncmp(location, "postgres://", 11) == 0);
}

const char *xp_inv_location_redact(const char *location, char *buf, size_t len)
{
	/* user:PASSWORD@ in the authority, password=VALUE among the parameters (RFC 3986
	 * 3.2.1, libpq's "Connection URIs") */
	struct xp_buf b = XP_BUF_INIT;
	const char *p = location;
	const char *scheme = strstr(p, "://");
	if (scheme) {
		const char *auth = scheme + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			xp_buf_addf(&b, "%.*s:***", (int)(colon - p), p);
			p = at;
		}
	}
	for (const char *q; (q = strstr(p, "password="));) {
		bool param = q > location && (q[-1] == '?' || q[-1] == '&' || q[-1] == ' ');
		xp_buf_addf(&b, "%.*s%s", (int)(q + 9 - p), p, param ? "***" : "");
		p = q + 9;
		if (param)
			p += strcspn(p, "& ");
	}
	xp_buf_addf(&b, "%s", p);
	snprintf(buf, len, "%s", xp_buf_str(&b) ? xp_buf_str(&b) : "");
	xp_buf_release(&b);
	return buf;
}

int xp_inv_location(const char *state_dir, const char *given, char **out)
{
	*out = NULL;
	const char *e = getenv("XENPROV_INVENTORY");
	if (given && *given)
		return (*out = strdup(given)) ? 0 : -ENOMEM;
	if (e && *e)
		return (*out = strdup(e)) ? 0 : -ENOMEM;
	return state_location(state_dir, out);
}

/* Migrates, or (raw) reads the version as it is. */
static int schema(struct xp_inv *inv, bool raw)
{
	return raw ? user_version(inv, &inv->version) : migrate(inv);
}

/* path: the database file (STATE/inventory.db, or sqlite:PATH's). */
static int open_sqlite(struct xp_inv *inv, const char *path, bool raw)
{
	private_files(path);
	int r = xp__db_open_sqlite(path, &inv->db);
	if (r < 0)
		return inv->db ? xp__inv_err(inv, r) : r;
	/* Switching a new database to WAL and migrating it take locks that SQLite refuses
	 * at once (without waiting) when two processes race for them on a fresh file, to
	 * avoid a deadlock; the loser retries, by then the winner is done. */
	for (int attempt = 0;; attempt++) {
		r = xp__inv_exec(inv, "PRAGMA journal_mode = WAL");
		if (r == 0)
			r = xp__inv_exec(inv, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
		if (r == 0)
			r = schema(inv, raw);
		if (r != -EBUSY || attempt == 200)
			return r;
		struct timespec ts = {0, (10 + attempt % 40) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static int open_pgsql(struct xp_inv *inv, const char *location, bool raw, char *why,
		      size_t whylen)
{
	char shown[512];
	xp_inv_location_redact(location, shown, sizeof(shown));
	int r = xp__db_pgsql_check(location, inv->err, sizeof(inv->err));
	if (r < 0) {
		why_set(why, whylen, "inventory '%s': %s", shown, inv->err);
		return r;
	}
	r = xp__db_open_pgsql(location, &inv->db);
	if (r == 0)
		r = schema(inv, raw);
	else if (inv->db)
		xp__inv_err(inv, r);
	if (r < 0)
		why_set(why, whylen, "inventory '%s': %s", shown,
			inv->err[0] ? inv->err : strerror(-r));
	return r;
}

/* sqlite:PATH's database file (heap): PATH/inventory.db for a directory, else PATH. */
static char *sqlite_path(const char *state_dir, const char *loc)
{
	char *path = NULL;
	const char *p = strncmp(loc, "sqlite:", 7) == 0 ? loc + 7 : "";
	struct stat st;
	if (!*p)
		p = state_dir;
	else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
		return strdup(p);
	return asprintf(&path, "%s/inventory.db", p) < 0 ? NULL : path;
}

static int open_at(const char *state_dir, const char *location, bool raw, struct xp_inv **ret,
		   char *why, size_t whylen)
{
	*ret = NULL;
	why_set(why, whylen, "%s", "");
	int r = xp_mkdir_p(state_dir, 0700);
	if (r < 0)
		return r;
	struct xp_inv *inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	inv->dir = strdup(state_dir);
	inv->store_lock = -1;
	char *loc = NULL;
	if (!inv->dir || (r = xp_inv_location(state_dir, location, &loc)) < 0) {
		xp_inv_close(inv);
		return r < 0 ? r : -ENOMEM;
	}
	if (!loc || !*loc || strcmp(loc, "sqlite") == 0 || strncmp(loc, "sqlite:", 7) == 0) {
		char *path = sqlite_path(state_dir, loc ? loc : "");
		r = path ? open_sqlite(inv, path, raw) : -ENOMEM;
		if (r < 0 && path && loc && strncmp(loc, "sqlite:", 7) == 0)
			why_set(why, whylen, "inventory '%s': %s", path,
				inv->err[0] ? inv->err : strerror(-r));
		free(path);
	} else if (xp_inv_location_pgsql(loc)) {
		r = open_pgsql(inv, loc, raw, why, whylen);
	} else {
		char shown[512];
		why_set(why, whylen,
			"inventory '%s': not a location xenprov knows (sqlite, sqlite:PATH, "
			"postgresql://...)",
			xp_inv_location_redact(loc, shown, sizeof(shown)));
		r = -EINVAL;
	}
	free(loc);
	if (r < 0) {
		xp_inv_close(inv);
		return r;
	}
	*ret = inv;
	return 0;
}

int xp_inv_open_at(const char *state_dir, const char *location, struct xp_inv **ret, char *why,
		   size_t whylen)
{
	return open_at(state_dir, location, false, ret, why, whylen);
}

int xp_inv_open_raw(const char *state_dir, const char *location, struct xp_inv **ret, char *why,
		    size_t whylen)
{
	return open_at(state_dir, location, true, ret, why, whylen);
}

int xp_inv_schema_latest(void)
{
	return NMIGRATIONS;
}

int xp_inv_migrate(struct xp_inv *inv, bool dry_run, int *from, int *to)
{
	int r = user_version(inv, from);
	*to = *from;
	if (r < 0)
		return r;
	if (*from > NMIGRATIONS)
		return too_new(inv, *from);
	if (dry_run) {
		*to = NMIGRATIONS;
		return 0;
	}
	if ((r = migrate(inv)) < 0)
		return r;
	*to = inv->version;
	return 0;
}

int xp_inv_open(const char *state_dir, struct xp_inv **ret)
{
	return xp_inv_open_at(state_dir, NULL, ret, NULL, 0);
}

void xp_inv_close(struct xp_inv *inv)
{
	if (!inv)
		return;
	xp__store_unlock(inv);
	xp__db_finalize(inv->lease_del);
	xp__db_finalize(inv->lease_put);
	xp__db_finalize(inv->lease_claim);
	xp__db_finalize(inv->lease_drop);
	xp__db_finalize(inv->lease_holder);
	xp__db_close(inv->db);
	free(inv->dir);
	free(inv);
}

const char *xp_inv_state_dir(const struct xp_inv *inv)
{
	return inv->dir;
}

bool xp_inv_is_pgsql(const struct xp_inv *inv)
{
	return xp__db_dialect(inv->db) == XP_DB_PGSQL;
}

bool xp_inv_lost(const struct xp_inv *inv)
{
	return xp__db_lost(inv->db);
}

const char *xp_inv_errmsg(const struct xp_inv *inv)
{
	return inv->err;
}

const char *xp_inv_reason(const struct xp_inv *inv, int r, char *buf, size_t len)
{
	if ((r == -EEXIST || r == -ENOENT || r == -EBUSY || r == -EPERM) && inv->err[0])
		snprintf(buf, len, "%s", inv->err);
	else if (r == -EIO || r == -EBADMSG)
		snprintf(buf, len, "%s (%s)", strerror(-r), inv->err);
	else
		snprintf(buf, len, "%s", strerror(-r));
	return buf;
}

int xp_inv_schema_version(const struct xp_inv *inv)
{
	return inv->version;
}

/* PostgreSQL checkpoints by itself (its server's checkpointer): nothing to do there. */
int xp_inv_set_autocheckpoint(struct xp_inv *inv, bool on)
{
	return xp_inv_is_pgsql(inv) ? 0 : xp__db_autocheckpoint(inv->db, on);
}

int xp_inv_checkpoint(struct xp_inv *inv)
{
	if (xp_inv_is_pgsql(inv))
		return 0;
	int r = xp__db_checkpoint(inv->db);
	return r < 0 ? xp__inv_err(inv, r) : 0;
}

/* PostgreSQL: a commit the server acknowledged survives this process whatever it
 * does, so "process" durability is already had at "full"; commits stay synchronous
 * (synchronous_commit off would lose acknowledged leases if the server crashed). */
int xp_inv_set_durability(struct xp_inv *inv, bool full)
{
	if (xp_inv_is_pgsql(inv))
		return 0;
	return xp__inv_exec(inv, full ? "PRAGMA synchronous = FULL"
				      : "PRAGMA synchronous = NORMAL");
}

/* Nesting: an inner begin/commit pair only counts. An inner rollback cannot undo just
 * its own part (SQLite's savepoints could, but no caller needs that); it dooms the
 * whole transaction instead, so that the caller's work is not left half done and
 * committed: later nested begins fail with -ECANCELED and the outermost commit rolls
 * back and returns -ECANCELED. */
static int begin(struct xp_inv *inv, const char *sql)
{
	if (inv->depth > 0) {
		if (inv->doomed)
			return -ECANCELED;
		inv->depth++;
		return 0;
	}
	int r = xp__inv_exec(inv, sql);
	if (r == 0) {
		inv->depth = 1;
		inv->doomed = false;
	} else if (xp_inv_is_pgsql(inv)) {
		xp__db_exec(inv->db, "ROLLBACK"); /* BEGIN ran, the lock did not */
	}
	return r;
}

/* PostgreSQL: every writer's transaction also notifies XP_INV_CHANNEL, which the boot
 * servers LISTEN on (xp_inv_listen): a notification is delivered when the transaction
 * commits and not at all when it rolls back, and a transaction's notifications are
 * one (https://www.postgresql.org/docs/current/sql-notify.html), so this is SQLite's
 * data_version (it moves when another connection commits) for every writer, the
 * command line's, the HTTP API's and any added later, at no extra round trip. */
#define XP_INV_CHANNEL "xenprov_inventory"

int xp_inv_begin(struct xp_inv *inv)
{
	return begin(inv, xp__db_sql(inv->db, "BEGIN IMMEDIATE",
				     "BEGIN; " PG_WRITE_LOCK "; NOTIFY " XP_INV_CHANNEL));
}

/* PostgreSQL: a transaction that takes row locks only (the lease claims of several boot
 * servers, leases.c), neither the writers' lock nor a notification. SQLite has one
 * writer lock either way. A row another server's transaction holds is waited for 200
 * ms at most (lock_timeout, any role's to set), not the session's 30 s: the claim runs
 * on the DHCP loop, a refused one is kept for the next commit (dhcp-sock.c), and a
 * client waits 4 s for its answer. */
int xp__inv_begin_rows(struct xp_inv *inv)
{
	return begin(inv, xp__db_sql(inv->db, "BEGIN IMMEDIATE",
				     inv->claim_deadlock > 0
					 ? "BEGIN; SET LOCAL lock_timeout = '200ms'; "
					   "SET LOCAL deadlock_timeout = '50ms'"
					 : "BEGIN; SET LOCAL lock_timeout = '200ms'"));
}

/* PostgreSQL: REPEATABLE READ is the one snapshot SQLite's deferred transaction
 * reads in (a write in it may fail with -EBUSY if another writer changed the row). */
int xp_inv_begin_read(struct xp_inv *inv)
{
	return begin(
	    inv, xp__db_sql(inv->db, "BEGIN DEFERRED", "BEGIN ISOLATION LEVEL REPEATABLE READ"));
}

/* The end of the outermost transaction: the distro store's files it made but did not
 * name are removed, and the store's lock goes. */
static void ended(struct xp_inv *inv)
{
	if (inv->store_gc)
		xp__store_gc(inv);
	xp__store_unlock(inv);
}

int xp_inv_commit(struct xp_inv *inv)
{
	if (inv->depth == 0)
		return -EINVAL;
	if (--inv->depth > 0)
		return inv->doomed ? -ECANCELED : 0;
	if (inv->doomed) {
		inv->doomed = false;
		xp__db_exec(inv->db, "ROLLBACK");
		ended(inv);
		return -ECANCELED;
	}
	int r = xp__inv_exec(inv, "COMMIT");
	if (r < 0)
		xp__db_exec(inv->db, "ROLLBACK");
	ended(inv);
	return r;
}

void xp_inv_rollback(struct xp_inv *inv)
{
	if (inv->depth == 0)
		return;
	if (--inv->depth > 0) {
		inv->doomed = true;
		return;
	}
	inv->doomed = false;
	xp__db_exec(inv->db, "ROLLBACK");
	ended(inv);
}

/* PRAGMA data_version: per connection, it changes when another connection commits
 * (https://sqlite.org/pragma.html#pragma_data_version); our own commits leave it.
 * PostgreSQL has no such counter: xp_inv_listen and xp_inv_notified take its place
 * (-ENOTSUP here). */
int xp_inv_data_version(struct xp_inv *inv, int64_t *out)
{
	if (xp_inv_is_pgsql(inv))
		return -ENOTSUP;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "PRAGMA data_version", &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		*out = xp__db_column_int64(st, 0);
	else
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

void xp_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int xp_inv_listen(struct xp_inv *inv)
{
	int r = xp__db_pgsql_listen(inv->db, XP_INV_CHANNEL);
	return r < 0 && r != -ENOTSUP ? xp__inv_err(inv, r) : r;
}

int xp_inv_notified(struct xp_inv *inv)
{
	int r = xp__db_pgsql_notified(inv->db);
	return r < 0 && r != -ENOTSUP ? xp__inv_err(inv, r) : r;
}

/* A lost connection's transaction is gone with it: the nesting is forgotten (the
 * statements kept prepared are texts on PostgreSQL, valid on the new connection). */
int xp_inv_reconnect_start(struct xp_inv *inv)
{
	if (!xp_inv_is_pgsql(inv))
		return 0;
	inv->depth = 0;
	inv->doomed = false;
	int r = xp__db_pgsql_reset_start(inv->db);
	return r < 0 ? xp__inv_err(inv, r) : 0;
}

int xp_inv_reconnect_poll(struct xp_inv *inv, int *fd, short *events)
{
	if (!xp_inv_is_pgsql(inv))
		return 1;
	int r = xp__db_pgsql_reset_poll(inv->db, fd, events);
	return r < 0 ? xp__inv_err(inv, r) : r;
}

int xp_inv_reconnect(struct xp_inv *inv)
{
	int r = xp_inv_reconnect_start(inv);
	struct pollfd pf = {.fd = -1};
	while (r == 0 && (r = xp_inv_reconnect_poll(inv, &pf.fd, &pf.events)) == 0)
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			return xp__inv_err(inv, -errno);
	return r < 0 ? r : 0;
}
