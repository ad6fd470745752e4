import { parsedUrl, redactedUrl } from '../redacted-url.js';

/** What REDIS_CLUSTER_NODES (the library's clusterNodes) says: the nodes, the credentials and TLS for all, and how to name them in messages. */
export interface ClusterConnection {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
  /** The nodes as given, passwords replaced by *** */
  shown: string;
}

/**
 * Reads cluster nodes given as `host:port` or `redis://[user:password@]host:port`
 * (`rediss://`: TLS). The URLs' scheme and credentials apply to every node,
 * the `host:port` ones and those the cluster client discovers, so URLs that
 * disagree, a database number (a cluster has only 0) or a query are errors.
 */
export function clusterConnection(entries: readonly string[]): ClusterConnection {
  const nodes: ClusterConnection['nodes'] = [];
  const shown: string[] = [];
  let given: { scheme: string; username: string; password: string; entry: string } | undefined;
  for (const raw of entries) {
    const entry = raw.trim();
    if (!/^rediss?:\/\//i.test(entry)) {
      const m = /^\[?([^\]\s/@]+?)\]?:(\d{1,5})$/.exec(entry);
      if (!m) {
        const shown = JSON.stringify(entry.replace(/^[^@]*@/, '***@'));
        throw new Error(`each node must be host:port or redis://[user:password@]host:port (rediss:// for TLS), not ${shown}`);
      }
      nodes.push({ host: m[1]!, port: Number(m[2]) });
      shown.push(entry);
      continue;
    }
    const { url, username, password } = parsedUrl(entry);
    const name = redactedUrl(url.href).replace(/\/$/, '');
    if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
      throw new Error(`a cluster node's URL has only a host and a port (a cluster has no database numbers): ${name}`);
    }
    const mine = {
      scheme: url.protocol.toLowerCase(),
      username,
      password,
      entry: name,
    };
    if (given && (given.scheme !== mine.scheme || given.username !== mine.username || given.password !== mine.password)) {
      throw new Error(`cluster nodes ${given.entry} and ${name} disagree on TLS or credentials: they apply to every node, give them once`);
    }
    given = mine;
    nodes.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) });
    shown.push(name);
  }
  if (nodes.length === 0) throw new Error('no cluster nodes given');
  return {
    nodes,
    username: given?.username || undefined,
    password: given?.password || undefined,
    tls: given?.scheme === 'rediss:',
    shown: shown.join(','),
  };
}
